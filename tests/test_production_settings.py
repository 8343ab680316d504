"""Production settings come from the environment; `check --deploy` passes; the app refuses a weak secret key."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.template.loader import render_to_string

ROOT = Path(__file__).resolve().parent.parent


def manage(*args, **env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")} | env
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
    "DJANGO_ALLOWED_HOSTS": "imprimatur.example.org",
    "DATABASE_URL": "postgres://imprimatur@db.example.org:5432/imprimatur",
}


def test_it_passes_the_deployment_checklist():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("key", [None, "short", "django-insecure-imprimatur-development-key-never-use-in-production"])
def test_it_refuses_to_start_without_a_real_secret_key(key):
    env = {k: v for k, v in PRODUCTION.items() if k != "DJANGO_SECRET_KEY"}
    if key is not None:
        env["DJANGO_SECRET_KEY"] = key
    result = manage("check", **env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set to 50 or more random characters" in result.stderr


def test_it_shows_generic_error_pages(client, settings, db):
    settings.DEBUG = False
    response = client.get("/documents/does-not-exist/")
    assert response.status_code == 404
    assert "Traceback" not in response.content.decode()

    page = render_to_string("500.html")
    assert "Traceback" not in page and "Imprimatur" in page
