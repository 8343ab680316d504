"""Production settings come from the environment; `check --deploy` passes; the app refuses a weak secret key;
uploads and exports go to object storage when a bucket is named."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.loader import render_to_string
from django.urls import reverse

from audit.models import ExportJob
from review.models import Attachment
from tests import factories

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


def default_storage_of(**env) -> dict:
    """Return what the default storage is, and where it points, under `env` (without any AWS_ variable of ours)."""
    code = (
        "import json; from django.core.files.storage import default_storage as s; "
        "s3 = s.__class__.__name__ == 'S3Storage'; "
        "print(json.dumps({'backend': f'{s.__class__.__module__}.{s.__class__.__name__}', **({"
        "'bucket': s.bucket_name, 'endpoint': s.connection.meta.client.meta.endpoint_url, 'location': s.location, "
        "'acl': s.default_acl, 'signed_urls': s.querystring_auth, 'overwrite': s.file_overwrite, "
        "'access_key': s.access_key} if s3 else {'location': s.location})}))"
    )
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "AWS_"))} | env
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "--no-imports", "-c", code],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_uploads_and_exports_stay_on_the_local_disk_by_default(tmp_path):
    assert default_storage_of(DJANGO_MEDIA_ROOT=str(tmp_path)) == {
        "backend": "django.core.files.storage.filesystem.FileSystemStorage",
        "location": str(tmp_path),
    }


def test_uploads_and_exports_go_to_object_storage_when_a_bucket_is_named():
    # Building the client makes no request: nothing here reaches the network.
    storage = default_storage_of(
        **PRODUCTION,
        AWS_STORAGE_BUCKET_NAME="imprimatur-files",
        AWS_S3_ENDPOINT_URL="http://127.0.0.1:9000",
        AWS_S3_REGION_NAME="us-east-1",
        AWS_LOCATION="clinic",
        AWS_ACCESS_KEY_ID="imprimatur-app",
        AWS_SECRET_ACCESS_KEY="not-a-real-secret",
    )
    assert storage == {
        "backend": "storages.backends.s3.S3Storage",
        "bucket": "imprimatur-files",
        "endpoint": "http://127.0.0.1:9000",
        "location": "clinic",
        "acl": None,
        "signed_urls": True,
        "overwrite": False,
        "access_key": "imprimatur-app",
    }


def test_uploads_and_exports_go_through_the_default_storage(
    settings, tmp_path, client_for, drafter, auditor, django_capture_on_commit_callbacks
):
    """Nothing writes beside MEDIA_ROOT by hand: with another storage behind FileField, the local disk stays empty,
    so the same code works on object storage."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    document = factories.make_document(drafter=drafter)
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

    drafting = client_for(drafter)
    upload = SimpleUploadedFile("通知.pdf", pdf)
    assert drafting.post(reverse("review:attachment_add", args=[document.pk]), {"file": upload}).status_code == 302
    attachment = Attachment.objects.get(document=document)
    fetched = drafting.get(reverse("review:attachment", args=[document.pk, attachment.pk]))
    assert b"".join(fetched.streaming_content) == pdf

    auditing = client_for(auditor)
    with django_capture_on_commit_callbacks(execute=True):
        assert auditing.post(reverse("review:audit_export_create"), {"format": "xlsx"}).status_code == 302
    job = ExportJob.objects.get()
    fetched = auditing.get(reverse("review:audit_export_download", args=[job.pk]))
    assert fetched.status_code == 200 and b"".join(fetched.streaming_content)[:2] == b"PK"

    assert default_storage.exists(attachment.file.name) and default_storage.exists(job.file.name)
    assert not settings.MEDIA_ROOT.exists()
