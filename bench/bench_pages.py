"""Benchmark the pages people use most, on a clinic of N pieces: the queue, a piece's page, the pieces list, one
approval end to end and the sign-off sheet.

    .venv/bin/python bench/bench_pages.py [--documents 1000 10000] [--events 20000] [--reps 20]

For each N it builds a fresh SQLite database (and a PostgreSQL one when DATABASE_URL names a server: a new
database there, dropped afterwards) with `seed_demo --no-history` and `seed_bench`, then, in one process, signs in
as the demo's information officer (李信) and requests each page --reps times through Django's test client (the
whole stack but the network): median and 95th percentile time, and the queries of one request. The approval is
timed with and without the password check (Argon2, deliberately slow).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "demo-pass-2026"


def manage(database_url: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_LOG_LEVEL": "WARNING"}
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def measure(database_url: str, reps: int) -> dict:
    """Run in a child process (a fresh Django on `database_url`): the figures of each page."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.db import connection
    from django.http import HttpRequest
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings
    from django.urls import reverse

    from accounts.models import User
    from review import services
    from review.models import Document

    officer = User.objects.get(username="officer")
    client = Client(HTTP_HOST="127.0.0.1")
    assert client.login(request=HttpRequest(), username="officer", password=PASSWORD)
    waiting = list(Document.objects.awaiting(officer).filter(title__startswith="基准稿件")[:8])
    figures = {}

    def timed(name: str, url: str):
        nonlocal client
        times = []
        for _n in range(reps):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        times.sort()
        figures[name] = (statistics.median(times), times[int(len(times) * 0.95) - 1], len(queries))

    timed("queue", reverse("review:queue"))
    timed("piece page", waiting[0].get_absolute_url())
    timed("pieces list", reverse("review:documents"))
    timed("sign-off sheet", reverse("review:signoff_sheet", args=[waiting[0].pk]))
    leader = Client(HTTP_HOST="127.0.0.1")
    assert leader.login(request=HttpRequest(), username="leader", password=PASSWORD)
    client, officer_client = leader, client
    timed("statistics (this quarter)", reverse("review:statistics"))
    client = officer_client

    def approve(document) -> float:
        stage = Document.objects.get(pk=document.pk).current_stage
        answers = [{"item": item.pk, "ok": True} for item in stage.checklist.all()]
        started = time.perf_counter()
        services.approve(document=document, user=officer, password=PASSWORD, opinion="同意。", checklist=answers)
        return (time.perf_counter() - started) * 1000

    with CaptureQueriesContext(connection) as queries:
        full = [approve(document) for document in waiting[1:4]]
    figures["approval (with Argon2)"] = (statistics.median(full), max(full), len(queries) // 3)
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        officer.set_password(PASSWORD)
        officer.save(update_fields=["password"])
        with CaptureQueriesContext(connection) as queries:
            without = [approve(document) for document in waiting[4:7]]
    figures["approval (no password hash)"] = (statistics.median(without), max(without), len(queries) // 3)
    officer.set_password(PASSWORD)  # back to the real hasher
    officer.save(update_fields=["password"])
    return figures


def databases(vendor: str, label: str):
    """Yield a fresh database URL of `vendor` (and drop it afterwards)."""
    if vendor == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.sqlite3"
        return
    server = urlsplit(os.environ["DATABASE_URL"])
    name = f"bench_pages_{label}"
    admin = urlunsplit(server._replace(path="/postgres"))
    subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {name}"], check=True)
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True)
    try:
        yield urlunsplit(server._replace(path=f"/{name}"))
    finally:
        subprocess.run(["psql", admin, "-qc", f"DROP DATABASE IF EXISTS {name}"], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.measure:
        for name, (median, p95, queries) in measure(arguments.measure, arguments.reps).items():
            print(f"{name}\t{median:.1f}\t{p95:.1f}\t{queries}")
        return
    vendors = ["sqlite"] + (["postgresql"] if os.environ.get("DATABASE_URL", "").startswith("postgres") else [])
    print(f"{'database':<11}{'pieces':>8}  {'page':<28}{'median ms':>10}{'p95 ms':>9}{'queries':>9}")
    for vendor in vendors:
        for count in arguments.documents:
            for url in databases(vendor, str(count)):
                started = time.perf_counter()
                manage(url, "migrate", "-v0")
                manage(url, "seed_demo", "--no-history")
                manage(url, "seed_bench", "--documents", str(count), "--events", str(arguments.events))
                seeded = time.perf_counter() - started
                out = subprocess.run(
                    [sys.executable, __file__, "--measure", url, "--reps", str(arguments.reps)],
                    check=True, capture_output=True, text=True,
                ).stdout  # fmt: skip
                for line in out.strip().splitlines():
                    name, median, p95, queries = line.split("\t")
                    print(f"{vendor:<11}{count:>8,}  {name:<28}{float(median):>10.1f}{float(p95):>9.1f}{queries:>9}")
                print(f"{vendor:<11}{count:>8,}  {'(seeding, s)':<28}{seeded:>10.1f}")


if __name__ == "__main__":
    main()
