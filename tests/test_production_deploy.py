"""Production mode works from a clean copy: static files collect, and gunicorn serves pages and assets.

Run as an operator would: management commands and gunicorn in subprocesses, with production settings from the
environment and a database and static directory of their own.
"""

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.conf import settings

ROOT = Path(settings.BASE_DIR)
SECRET = "production-test-" + "k" * 60


def production_env(tmp_path) -> dict:
    return {
        **os.environ,
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": SECRET,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
        "DJANGO_MEDIA_ROOT": str(tmp_path / "media"),
        "DJANGO_LOG_LEVEL": "WARNING",
    }


def run(env, *args):
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url: str) -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, headers={"X-Forwarded-Proto": "https"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.headers.get("Content-Type", ""), response.read()


def test_collectstatic_then_gunicorn_serve_the_login_page_and_its_assets(tmp_path):
    env = production_env(tmp_path)
    run(env, "migrate", "--no-input", "--verbosity", "0")
    run(env, "collectstatic", "--no-input", "--verbosity", "0")
    manifest = (tmp_path / "static" / "staticfiles.json").read_text()
    assert "vendor/trix.umd.min.js" in manifest and "review/app.css" in manifest

    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        page = None
        for _attempt in range(100):
            try:
                page = fetch(f"http://127.0.0.1:{port}/accounts/login/")
                break
            except OSError:
                time.sleep(0.1)
        assert page is not None, (
            server.stdout.read1().decode() if server.poll() is not None else "gunicorn did not answer"
        )
        status, content_type, body = page
        assert (status, content_type) == (200, "text/html; charset=utf-8")
        # Hashed, compressed assets from whitenoise, as the manifest names them.
        stylesheet = re.search(rb'href="(/static/review/app\.[0-9a-f]+\.css)"', body).group(1).decode()
        status, content_type, css = fetch(f"http://127.0.0.1:{port}{stylesheet}")
        assert (status, content_type.split(";")[0]) == (200, "text/css")
        assert css == (ROOT / "review/static/review/app.css").read_bytes()
        script = re.search(rb'src="(/static/vendor/htmx-2\.min\.[0-9a-f]+\.js)"', body).group(1).decode()
        assert (
            fetch(f"http://127.0.0.1:{port}{script}")[2] == (ROOT / "review/static/vendor/htmx-2.min.js").read_bytes()
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
