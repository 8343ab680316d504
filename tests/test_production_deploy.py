"""Production mode works from a clean copy: static files collect, and gunicorn serves pages and assets.

Run as an operator would: management commands and gunicorn in subprocesses, with production settings from the
environment and a database and static directory of their own.
"""

import contextlib
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
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


@contextlib.contextmanager
def gunicorn(env: dict, *, workers: int = 1, threads: int = 1):
    """Serve config.wsgi with gunicorn on a free loopback port until the block ends; yield its base URL.

    Its output goes to a file, not a pipe: a pipe nobody reads fills up with tracebacks and stops the server.
    """
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

        def output() -> str:
            log.seek(0)
            return log.read().decode(errors="replace")[-5000:]

        try:
            for _attempt in range(300):
                try:
                    fetch(f"{base}/accounts/login/")
                    break
                except urllib.error.HTTPError as error:
                    raise AssertionError(f"gunicorn answered {error.code}:\n{output()}") from None
                except OSError:
                    assert server.poll() is None, output()
                    time.sleep(0.1)
            else:
                raise AssertionError(f"gunicorn did not answer:\n{output()}")
            yield base
        finally:
            server.terminate()
            server.wait(timeout=10)


def test_collectstatic_then_gunicorn_serve_the_login_page_and_its_assets(tmp_path):
    env = production_env(tmp_path)
    run(env, "migrate", "--no-input", "--verbosity", "0")
    run(env, "collectstatic", "--no-input", "--verbosity", "0")
    manifest = (tmp_path / "static" / "staticfiles.json").read_text()
    assert "vendor/trix.umd.min.js" in manifest and "review/app.css" in manifest

    with gunicorn(env) as base:
        status, content_type, body = fetch(f"{base}/accounts/login/")
        assert (status, content_type) == (200, "text/html; charset=utf-8")
        # Hashed, compressed assets from whitenoise, as the manifest names them.
        stylesheet = re.search(rb'href="(/static/review/app\.[0-9a-f]+\.css)"', body).group(1).decode()
        status, content_type, css = fetch(f"{base}{stylesheet}")
        assert (status, content_type.split(";")[0]) == (200, "text/css")
        assert css == (ROOT / "review/static/review/app.css").read_bytes()
        script = re.search(rb'src="(/static/vendor/htmx-2\.min\.[0-9a-f]+\.js)"', body).group(1).decode()
        assert fetch(f"{base}{script}")[2] == (ROOT / "review/static/vendor/htmx-2.min.js").read_bytes()
