"""Benchmark the pages people use most, on a clinic of N pieces: the queue, a piece's page, the pieces list, the
sign-off sheet, the statistics, the audit log's CSV and one approval end to end, and, with --wagtail, Wagtail's
moderation workflow on the same work for the ratios.

    .venv/bin/python bench/bench_pages.py [--documents 1000 10000 100000] [--events 20000] [--reps 20] [--wagtail 2000]

For each N it builds a fresh SQLite database (and a PostgreSQL one when DATABASE_URL names a server: a new
database there, dropped afterwards) with `seed_demo --no-history` and `seed_bench`, then, in one process, signs in
as the demo's information officer (李信) and requests each page --reps times through Django's test client (the
whole stack but the network): median and 95th percentile time, the median processor time of this process (the
fairer figure on a busy machine) and the queries of one request. The statistics are the leader's, the CSV the
auditor's (3 downloads). The approval calls the service, with and without the password check (Argon2).

--wagtail N runs ../shared/bench/anchors/wagtail/run.sh N on SQLite (its cached databases are reused) and this
project at N pieces and 10 N events, and prints each of Wagtail's cases beside ours: the workflow report beside
the queue, its approval of a middle task beside ours without the password (Wagtail asks for none), its site
history CSV beside the audit log's CSV.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
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
    from audit.models import AuditEvent
    from review import services
    from review.models import Document

    officer = User.objects.get(username="officer")
    client = Client(HTTP_HOST="127.0.0.1")
    assert client.login(request=HttpRequest(), username="officer", password=PASSWORD)
    waiting = list(Document.objects.awaiting(officer).filter(title__startswith="基准稿件")[:8])
    figures = {}

    def timed(name: str, url: str, *, post: dict | None = None, repeat: int = reps):
        """Request `url` (GET, or POST `post`) `repeat` times, reading a streamed answer to its end."""

        def request():
            response = client.post(url, post) if post is not None else client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            if response.streaming:
                for _chunk in response.streaming_content:
                    pass

        times, cpu = [], []
        for _n in range(repeat):
            started, cpu_started = time.perf_counter(), time.process_time()
            request()
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
        with CaptureQueriesContext(connection) as queries:
            request()
        times.sort()
        figures[name] = (statistics.median(times), p95(times), statistics.median(cpu), len(queries))

    timed("queue", reverse("review:queue"))
    timed("piece page", waiting[0].get_absolute_url())
    timed("pieces list", reverse("review:documents"))
    timed("sign-off sheet", reverse("review:signoff_sheet", args=[waiting[0].pk]))
    leader = Client(HTTP_HOST="127.0.0.1")
    assert leader.login(request=HttpRequest(), username="leader", password=PASSWORD)
    client, officer_client = leader, client
    timed("statistics (this quarter)", reverse("review:statistics"))
    auditor = Client(HTTP_HOST="127.0.0.1")
    assert auditor.login(request=HttpRequest(), username="auditor", password=PASSWORD)
    client = auditor
    events = AuditEvent.objects.count()
    timed(f"audit CSV ({events:,} events)", reverse("review:audit_export_create"), post={"format": "csv"}, repeat=3)
    client = officer_client

    def approve(document) -> tuple[float, float]:
        stage = Document.objects.get(pk=document.pk).current_stage
        answers = [{"item": item.pk, "ok": True} for item in stage.checklist.all()]
        started, cpu_started = time.perf_counter(), time.process_time()
        services.approve(document=document, user=officer, password=PASSWORD, opinion="同意。", checklist=answers)
        return (time.perf_counter() - started) * 1000, (time.process_time() - cpu_started) * 1000

    def approvals(documents) -> tuple:
        with CaptureQueriesContext(connection) as queries:
            times, cpu = zip(*(approve(document) for document in documents), strict=True)
        return statistics.median(times), max(times), statistics.median(cpu), len(queries) // len(documents)

    figures["approval (with Argon2)"] = approvals(waiting[1:4])
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        officer.set_password(PASSWORD)
        officer.save(update_fields=["password"])
        figures["approval (no password hash)"] = approvals(waiting[4:7])
    officer.set_password(PASSWORD)  # back to the real hasher
    officer.save(update_fields=["password"])
    return figures


def p95(times: list[float]) -> float:
    """The 95th percentile of sorted `times`, nearest rank (as Wagtail's anchor counts it)."""
    return times[max(0, -(-len(times) * 95 // 100) - 1)]


@contextmanager
def database(vendor: str, label: str):
    """Give a fresh database URL of `vendor` (and drop it afterwards)."""
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


def our_figures(vendor: str, count: int, events: int, reps: int) -> dict:
    """Build a database of `count` pieces and `events` audit events, and return each page's figures."""
    with database(vendor, str(count)) as url:
        started = time.perf_counter()
        manage(url, "migrate", "-v0")
        manage(url, "seed_demo", "--no-history")
        manage(url, "seed_bench", "--documents", str(count), "--events", str(events))
        seeded = time.perf_counter() - started
        command = [sys.executable, __file__, "--measure", url, "--reps", str(reps)]
        out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    figures = {}
    for line in out.strip().splitlines():
        name, *numbers = line.split("\t")
        figures[name] = tuple(float(number) for number in numbers)
    figures["(seeding the database)"] = (seeded * 1000, 0, 0, 0)
    return figures


# Wagtail's cases beside ours: its workflow report is its reviewer's queue (its dashboard is far slower), its
# approval of a middle task is ours without the password check (it asks for none), its site history CSV our audit
# log's CSV (both hold about ten events a piece).
WAGTAIL_CASES = [
    ("b_workflow_report", "queue"),
    ("e_approve_dept_head_task", "approval (no password hash)"),
    ("d_site_history_csv", "audit CSV"),
]


def wagtail(anchor: Path, count: int, reps: int) -> dict:
    """Run Wagtail's anchor (../shared/bench/anchors/wagtail/run.sh) on SQLite at `count` pieces: its figures."""
    run_id = f"imprimatur-{time.strftime('%Y%m%dT%H%M%S')}-n{count}"
    env = {**os.environ, "BENCH_DBS": "sqlite", "BENCH_RUN_ID": run_id, "BENCH_REPS": str(reps)}
    env.pop("DATABASE_URL", None)
    subprocess.run(["bash", str(anchor / "run.sh"), str(count)], env=env, check=True, stdout=subprocess.DEVNULL)
    results = Path(env.get("BENCH_WORK", "/tmp/wagbench")) / "results" / "results.jsonl"
    rows = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    return {row["case"]: row for row in rows if row.get("run_id") == run_id}


def print_ratios(count: int, ours: dict, theirs: dict) -> None:
    print(f"\nBeside Wagtail 8.0.1's moderation workflow, SQLite, {count:,} pieces (its anchor, same machine and run):")
    print(f"{'operation':<58}{'Wagtail ms':>11}{'ours ms':>9}{'faster':>8}{'CPU ×':>7}{'queries':>13}")
    for case, name in WAGTAIL_CASES:
        mine = next((figures for label, figures in ours.items() if label.startswith(name)), None)
        if case not in theirs or mine is None:
            continue
        them = theirs[case]
        median, _p95, cpu, queries = mine
        print(
            f"{case + ' / ' + name:<58}{them['median_ms']:>11.1f}{median:>9.1f}{them['median_ms'] / median:>7.1f}×"
            f"{them['cpu_median_ms'] / cpu:>6.1f}×{them['queries']:>6} / {queries:<4.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument(
        "--wagtail", type=int, metavar="N", help="Also run Wagtail's anchor at N pieces (SQLite) and print ratios."
    )
    parser.add_argument("--anchor", type=Path, default=ROOT.parent / "shared" / "bench" / "anchors" / "wagtail")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.measure:
        for name, figures in measure(arguments.measure, arguments.reps).items():
            print("\t".join([name, *(f"{number:.1f}" for number in figures)]))
        return
    vendors = ["sqlite"] + (["postgresql"] if os.environ.get("DATABASE_URL", "").startswith("postgres") else [])
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; {arguments.reps} requests a page")
    print(f"{'database':<11}{'pieces':>8}  {'page':<32}{'median ms':>10}{'p95 ms':>9}{'CPU ms':>8}{'queries':>9}")
    for vendor in vendors:
        for count in arguments.documents:
            for name, (median, p95_ms, cpu, queries) in our_figures(
                vendor, count, arguments.events, arguments.reps
            ).items():
                print(f"{vendor:<11}{count:>8,}  {name:<32}{median:>10.1f}{p95_ms:>9.1f}{cpu:>8.1f}{queries:>9.0f}")
    if arguments.wagtail:
        if not (arguments.anchor / "run.sh").exists():
            raise SystemExit(f"Wagtail's anchor is not at {arguments.anchor} (--anchor names it).")
        count = arguments.wagtail
        ours = our_figures("sqlite", count, 10 * count, arguments.reps)
        print_ratios(count, ours, wagtail(arguments.anchor, count, arguments.reps))


if __name__ == "__main__":
    main()
