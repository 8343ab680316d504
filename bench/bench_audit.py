"""Benchmark the audit log's exports and verification on a large, throwaway, hash-chained log.

    .venv/bin/python bench/bench_audit.py [--events 100000 1000000] [--xlsx-limit 100000] [--trace-limit 100000]
                                          [--pdf 1000 100000]

For each size it builds a fresh SQLite database (and a PostgreSQL one when DATABASE_URL is set: a new
database on that server, dropped afterwards), fills it with N correctly chained and signed events by bulk
insert, then measures, each in a fresh process so that the peak resident memory belongs to that step alone:
CSV and JSON Lines export beside the database's own dump of the same rows (the sqlite3 CLI's -csv, PostgreSQL's
COPY ... TO STDOUT CSV through psql) with the ratio, XLSX export (up to --xlsx-limit events), the audit PDF of
the first 1,000 and 100,000 events (--pdf; what the background task writes for an auditor), the full
verification (`verify_audit`'s work), an incremental verification after 1,000 new events (the worker's work
every minute), and the audit page as an auditor sees it (median of 20 requests).

Time is measured on a plain run; the tracemalloc peak (Python allocations) on a second, traced run (up to
--trace-limit events), since tracing slows Python down severalfold. ru_maxrss is the process's peak resident
set, Django included: flat from 100,000 to 1,000,000 events is what constant memory looks like. "cpu" is the
processor time of the step's own process (a dump's is its client's; the database server's own work is not in it):
on a busy machine it varies less than the elapsed time, which is what the ratios use.
"""

import argparse
import datetime
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
NAMES = ["张晓雯", "李信", "王建国", "陈志强", "刘德明", "赵敏", "孙丽"]
ROLES = ["", "信息员", "科室负责人", "分管宣传工作领导", "主要领导"]
TITLES = ["关于开展流感疫苗接种的通知", "世界卫生日健康讲座", "门诊时间调整公告", '=HYPERLINK("x")']
ACTIONS = ["created", "edited", "submitted", "approved", "approved", "approved", "published", "login", "downloaded"]
STAGES = ["初审", "复审", "终审"]
USER_AGENT = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 MicroMessenger/8.0.50"


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# Steps, each run in its own process: `bench_audit.py --step NAME --database URL`.


def step_build(count: int) -> dict:
    """Migrate the empty database and insert `count` chained, signed events in batches."""
    from django.core.management import call_command
    from django.utils import timezone

    from audit import bulk

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrated = time.perf_counter()
    moment = timezone.now() - datetime.timedelta(seconds=count)

    def events():
        for sequence in range(1, count + 1):
            action = ACTIONS[sequence % len(ACTIONS)]
            yield {
                "created_at": moment + datetime.timedelta(seconds=sequence, microseconds=sequence % 997),
                "actor_id": sequence % 50 + 1,
                "actor_name": NAMES[sequence % len(NAMES)],
                "actor_role": ROLES[sequence % len(ROLES)],
                "action": action,
                "object_type": "review.document",
                "object_id": sequence // 7 + 1,
                "object_repr": TITLES[(sequence // 7) % len(TITLES)],
                "scope": str(sequence % 5 + 1),
                "content_hash": f"{sequence:064x}",
                "from_state": "in_review" if action == "approved" else "",
                "to_state": "in_review" if action == "approved" else "",
                "comment": "同意发布，请注意标点符号的全半角统一。" if action == "approved" else "",
                "ip_address": f"10.{sequence >> 16 & 255}.{sequence >> 8 & 255}.{sequence & 255}",
                "user_agent": USER_AGENT,
                "request_id": uuid.UUID(int=sequence).hex,
                "data": {"round": 1, "stage": STAGES[sequence % 3], "stage_review": sequence}
                if action == "approved"
                else {},
            }

    bulk.append(events())
    return {"migrate_s": migrated - started, "insert_s": time.perf_counter() - migrated, "events": count}


def step_export(export_format: str, trace: bool) -> dict:
    from audit.exports import bounded, write_export
    from audit.models import AuditEvent

    def run() -> tuple[float, float, object, int]:
        head = AuditEvent.objects.head()
        with tempfile.TemporaryFile() as output:
            started, cpu_started = time.perf_counter(), time.process_time()
            tally = write_export(export_format, bounded(AuditEvent.objects.all(), head), output, summary={})
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
            size = output.seek(0, os.SEEK_END)
        return elapsed, cpu, tally, size

    rss_before = rss_mib()
    elapsed, cpu, tally, size = run()
    result = {
        "seconds": elapsed,
        "cpu_s": cpu,
        "rows": tally.row_count,
        "mib": size / 2**20,
        "rows_per_s": tally.row_count / elapsed,
        "rss_before_mib": rss_before,
        "maxrss_mib": rss_mib(),
    }
    if trace:
        tracemalloc.start()
        run()
        result["tracemalloc_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return result


def step_pdf(count: int) -> dict:
    """Write the first `count` events as the audit PDF (what the background task does for an auditor)."""
    from audit.exports import write_export
    from audit.models import AuditEvent

    events = AuditEvent.objects.filter(sequence__lte=count).order_by("sequence")
    rss_before = rss_mib()
    with tempfile.TemporaryFile() as output:
        started, cpu_started = time.perf_counter(), time.process_time()
        tally = write_export("pdf", events, output, summary={})
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        size = output.seek(0, os.SEEK_END)
    return {
        "seconds": elapsed, "cpu_s": cpu, "rows": tally.row_count, "mib": size / 2**20,
        "rss_before_mib": rss_before, "maxrss_mib": rss_mib(),
    }  # fmt: skip


def step_dump(database_url: str) -> dict:
    """Time the database's own CSV dump of the rows an export writes (same columns, same order), to /dev/null."""
    from django.db import connection

    from audit.exports import COLUMNS

    select = f"SELECT {', '.join(COLUMNS)} FROM audit_event ORDER BY sequence"
    if connection.vendor == "sqlite":
        command = ["sqlite3", "-csv", "-header", connection.settings_dict["NAME"], select]
    else:
        command = ["psql", "--no-psqlrc", "-q", "-d", database_url, "-c", f"COPY ({select}) TO STDOUT CSV HEADER"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {"seconds": elapsed, "cpu_s": cpu, "tool": command[0]}


def step_verify() -> dict:
    """Verify the whole chain, as `verify_audit` does (in several processes for a large chain)."""
    from audit.models import Verification
    from audit.verify import run_verification

    rss_before = rss_mib()
    started = time.perf_counter()
    run = run_verification(Verification.objects.create(kind=Verification.Kind.FULL))
    elapsed = time.perf_counter() - started
    if not run.ok:
        raise SystemExit(f"the benchmark chain does not verify: {run.problem} at {run.bad_sequence}")
    return {
        "seconds": elapsed,
        "events": run.events_done,
        "events_per_s": run.events_done / elapsed,
        "rss_before_mib": rss_before,
        "maxrss_mib": rss_mib(),
    }


def step_incremental(new_events: int) -> dict:
    """Append `new_events` through the recording function, then time the worker's incremental verification."""
    from audit.models import AuditEvent
    from audit.verify import verify_new_events

    started = time.perf_counter()
    for number in range(new_events):
        AuditEvent.objects.record(action="login", data={"n": number})
    recorded = time.perf_counter() - started
    started = time.perf_counter()
    run = verify_new_events()
    elapsed = time.perf_counter() - started
    if not run.ok:
        raise SystemExit(f"incremental verification failed: {run.problem} at {run.bad_sequence}")
    return {"seconds": elapsed, "events": run.events_done, "record_ms_each": recorded * 1000 / new_events}


def step_page(requests: int = 20) -> dict:
    """Time the audit page as an auditor sees it: the newest page, and a filtered one."""
    import statistics

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Membership, User
    from accounts.services import add_membership

    auditor, _created = User.objects.get_or_create(username="bench-auditor")
    add_membership(user=auditor, role=Membership.Role.AUDITOR, department=None, by=None)
    client = Client()
    client.force_login(auditor)
    figures = {}
    for label, query in (("newest", {}), ("filtered", {"action": "approved", "department": ""})):
        times = []
        for _request in range(requests):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get("/audit/", query, HTTP_HOST="127.0.0.1")
                times.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"the audit page answered {response.status_code}")
        figures[label] = {"median_ms": statistics.median(times) * 1000, "queries": len(queries)}
    return figures


def run_step(database_url: str, *args: str) -> dict:
    command = [sys.executable, __file__, "--database", database_url, *args]
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if completed.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


# The orchestration.


class Database:
    """A throwaway database for one run: a file in a temporary directory, or a new PostgreSQL database."""

    def __init__(self, vendor: str, count: int):
        self.vendor = vendor
        if vendor == "sqlite":
            self.directory = tempfile.TemporaryDirectory(prefix="imprimatur-bench-")
            self.url = f"sqlite:///{self.directory.name}/bench.sqlite3"
        else:
            import psycopg

            base = urlsplit(os.environ["DATABASE_URL"])
            self.name = f"imprimatur_bench_{os.getpid()}_{count}"
            self.admin_url = urlunsplit(base._replace(path="/postgres"))
            with psycopg.connect(self.admin_url, autocommit=True) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {self.name}")
                admin.execute(f"CREATE DATABASE {self.name}")
            self.url = urlunsplit(base._replace(path=f"/{self.name}"))

    def drop(self) -> None:
        if self.vendor == "sqlite":
            self.directory.cleanup()
            return
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


def bench(vendor: str, count: int, *, xlsx_limit: int, trace_limit: int, pdf_sizes: list[int]) -> None:
    print(f"\n== {vendor}, {count:,} events ==", flush=True)
    database = Database(vendor, count)
    try:
        built = run_step(database.url, "--step", "build", "--count", str(count))
        print(
            f"build       {built['insert_s']:7.1f} s  ({count / built['insert_s']:,.0f} events/s, hashes included; "
            f"migrate {built['migrate_s']:.1f} s)",
            flush=True,
        )
        formats = ["csv", "jsonl"] + (["xlsx"] if count <= xlsx_limit else [])
        trace = count <= trace_limit
        trace_args = ["--trace"] if trace else []
        run_step(database.url, "--step", "dump")  # once first, so that both read a warm cache
        baseline = run_step(database.url, "--step", "dump")
        print(
            f"{baseline['tool']} dump {baseline['seconds']:7.2f} s  (cpu {baseline['cpu_s']:.2f} s): "
            "the database's own CSV of the same rows",
            flush=True,
        )
        for export_format in formats:
            figures = run_step(database.url, "--step", export_format, *trace_args)
            peak = f"tracemalloc peak {figures['tracemalloc_peak_mib']:6.1f} MiB, " if trace else ""
            print(
                f"{export_format:<6} export {figures['seconds']:7.2f} s  (cpu {figures['cpu_s']:.2f} s, "
                f"{figures['seconds'] / baseline['seconds']:.1f}× the dump; {figures['rows_per_s']:,.0f} rows/s, "
                f"{figures['mib']:,.0f} MiB file); {peak}maxrss {figures['maxrss_mib']:.0f} MiB "
                f"(after start-up {figures['rss_before_mib']:.0f} MiB)",
                flush=True,
            )
        for rows in (size for size in pdf_sizes if size <= count):
            figures = run_step(database.url, "--step", "pdf", "--count", str(rows))
            print(
                f"pdf    {rows:>7,} events {figures['seconds']:7.1f} s  (cpu {figures['cpu_s']:.1f} s, "
                f"{figures['mib']:,.1f} MiB file); maxrss {figures['maxrss_mib']:.0f} MiB "
                f"(after start-up {figures['rss_before_mib']:.0f} MiB)",
                flush=True,
            )
        figures = run_step(database.url, "--step", "verify")
        print(
            f"verify      {figures['seconds']:7.1f} s  ({figures['events_per_s']:,.0f} events/s); "
            f"maxrss {figures['maxrss_mib']:.0f} MiB (after start-up {figures['rss_before_mib']:.0f} MiB)",
            flush=True,
        )
        figures = run_step(database.url, "--step", "incremental", "--count", "1000")
        print(
            f"incremental {figures['seconds'] * 1000:7.0f} ms for {figures['events']:,} new events "
            f"(recording took {figures['record_ms_each']:.2f} ms an event)",
            flush=True,
        )
        figures = run_step(database.url, "--step", "page")
        print(
            f"audit page  {figures['newest']['median_ms']:7.0f} ms median, {figures['newest']['queries']} queries; "
            f"filtered by action {figures['filtered']['median_ms']:.0f} ms, {figures['filtered']['queries']} queries",
            flush=True,
        )
    finally:
        database.drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--xlsx-limit", type=int, default=100_000, help="Export XLSX only up to this many events.")
    parser.add_argument(
        "--trace-limit",
        type=int,
        default=100_000,
        help="Measure the tracemalloc peak (a second, slower run) only up to this many events; 0 for never.",
    )
    parser.add_argument(
        "--pdf", type=int, nargs="*", default=[1_000, 100_000], help="Write the audit PDF of this many events."
    )
    # Internal: one step in a fresh process.
    parser.add_argument("--step", help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--trace", dest="trace_step", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.step:
        setup_django(args.database)
        if args.step == "build":
            result = step_build(args.count)
        elif args.step == "verify":
            result = step_verify()
        elif args.step == "incremental":
            result = step_incremental(args.count)
        elif args.step == "dump":
            result = step_dump(args.database)
        elif args.step == "page":
            result = step_page()
        elif args.step == "pdf":
            result = step_pdf(args.count)
        else:
            result = step_export(args.step, args.trace_step)
        print(json.dumps(result))
        return

    vendors = ["sqlite"] + (["postgresql"] if os.environ.get("DATABASE_URL", "").startswith("postgres") else [])
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; vendors: {', '.join(vendors)}")
    for vendor in vendors:
        for count in args.events:
            bench(vendor, count, xlsx_limit=args.xlsx_limit, trace_limit=args.trace_limit, pdf_sizes=args.pdf)


if __name__ == "__main__":
    main()
