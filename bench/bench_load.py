"""Load test: gunicorn with PostgreSQL in production settings, driven by locust on loopback at 10, 50 and 100 users.

    .venv/bin/pip install -r bench/requirements.txt      # locust: kept out of requirements-dev.txt
    .venv/bin/python bench/bench_load.py [--users 10 50 100] [--duration 45] [--workers 2] [--threads 4]

locust may live in a virtualenv of its own (`python -m venv /tmp/locust && /tmp/locust/bin/pip install -r
bench/requirements.txt`); then pass `--locust /tmp/locust/bin/locust`.

It creates a fresh PostgreSQL database on the server named by --postgres (default: the local server as
postgres; DATABASE_URL's server when it names one), fills it with `seed_demo --no-history` and `seed_bench
--documents 1000`, starts gunicorn on a loopback port with DJANGO_DEBUG=0 (and Redis as the cache when REDIS_URL
is set), and runs bench/locustfile.py headless at each level for --duration seconds (ramping up in the first
tenth, figures counted after the ramp). It prints, per level, requests per second, the median and 95th
percentile response time and the errors, then the slowest requests of the busiest level, and drops the database.
"""

import argparse
import csv
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = ROOT / "bench" / "locustfile.py"


def admin_url(args) -> str:
    if args.postgres:
        return args.postgres
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return urlunsplit(urlsplit(url)._replace(path="/postgres"))
    return "postgresql://postgres@127.0.0.1:5432/postgres"


def locust_command(args) -> str:
    found = args.locust or (
        str(Path(sys.executable).with_name("locust"))
        if Path(sys.executable).with_name("locust").exists()
        else shutil.which("locust")
    )
    if not found:
        sys.exit("locust not found: pip install -r bench/requirements.txt (or pass --locust PATH)")
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def manage(env: dict, *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def wait_until_serving(base: str, server: subprocess.Popen) -> None:
    request = urllib.request.Request(f"{base}/accounts/login/", headers={"X-Forwarded-Proto": "https"})
    for _attempt in range(300):
        if server.poll() is not None:
            sys.exit("gunicorn stopped")
        try:
            urllib.request.urlopen(request, timeout=10).read()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit("gunicorn did not answer")


def run_level(locust: str, base: str, users: int, duration: int, out: Path) -> dict:
    """Run locust headless with `users` people; return its figures for the whole level, by request name too."""
    prefix = out / f"users{users}"
    ramp = max(1, duration // 10)
    subprocess.run(
        [
            locust, "-f", str(LOCUSTFILE), "--headless", "--host", base, "--users", str(users),
            "--spawn-rate", str(max(1, users // ramp)), "--run-time", f"{duration}s", "--reset-stats",
            "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING", "--stop-timeout", "5",
        ],
        cwd=ROOT, check=False, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    with open(f"{prefix}_stats.csv", newline="") as stats:
        rows = {f"{row['Type']} {row['Name']}".strip(): row for row in csv.DictReader(stats)}
    return rows


def figures(row: dict) -> tuple[float, float, float, int, int]:
    return (
        float(row["Requests/s"]),
        float(row["50%"]),
        float(row["95%"]),
        int(row["Failure Count"]),
        int(row["Request Count"]),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, nargs="+", default=[10, 50, 100])
    parser.add_argument("--duration", type=int, default=45, help="seconds per level (at most 60)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--postgres", help="a PostgreSQL URL of a database to connect to while creating ours")
    parser.add_argument("--locust", help="the locust command, when it is not beside this Python")
    args = parser.parse_args()
    args.duration = min(args.duration, 60)
    locust = locust_command(args)

    admin = admin_url(args)
    name = f"imprimatur_load_{uuid.uuid4().hex[:8]}"
    database_url = urlunsplit(urlsplit(admin)._replace(path=f"/{name}"))
    with psycopg.connect(admin, autocommit=True) as server:
        server.execute(f'CREATE DATABASE "{name}"')
    work = Path(tempfile.mkdtemp(prefix="imprimatur-load-"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url,
        "DJANGO_STATIC_ROOT": str(work / "static"),
        "DJANGO_MEDIA_ROOT": str(work / "media"),
        "DJANGO_STATIC_COMPRESS": "0",  # no asset is fetched: the compressed copies would only cost time
        "DJANGO_LOG_LEVEL": "WARNING",
        # Many simulated people share a few accounts from one address: lockouts would only measure themselves.
        "DJANGO_LOGIN_FAILURE_LIMIT": "1000",
        "DJANGO_LOGIN_ADDRESS_FAILURE_LIMIT": "1000",
    }
    server = None
    try:
        print(f"Seeding {name}: seed_demo, seed_bench --documents {args.documents} --events {args.events}")
        manage(env, "migrate", "--no-input", "--verbosity", "0")
        manage(env, "collectstatic", "--no-input", "--verbosity", "0")
        manage(env, "seed_demo", "--no-history")
        manage(env, "seed_bench", "--documents", str(args.documents), "--events", str(args.events))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        command = [
            str(Path(sys.executable).with_name("gunicorn")), "config.wsgi", "--bind", f"127.0.0.1:{port}",
            "--workers", str(args.workers), "--threads", str(args.threads), "--access-logfile", "-",
            "--access-logformat", '%(m)s %(U)s %(s)s %(M)s',
        ]  # fmt: skip
        with open(work / "gunicorn.log", "w") as log:
            server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        wait_until_serving(base, server)
        cache = "Redis" if env.get("REDIS_URL") else "the database"
        print(
            f"gunicorn: {args.workers} workers × {args.threads} threads on {os.cpu_count()} cores; cache: {cache}; "
            f"{args.duration} s per level"
        )
        print(f"{'users':>5}  {'req/s':>7}  {'p50 ms':>7}  {'p95 ms':>7}  {'errors':>7}  {'requests':>8}")
        levels = {}
        for users in args.users:
            levels[users] = run_level(locust, base, users, args.duration, work)
            rate, p50, p95, errors, count = figures(levels[users]["Aggregated"])
            print(f"{users:>5}  {rate:>7.1f}  {p50:>7.0f}  {p95:>7.0f}  {errors:>7}  {count:>8}", flush=True)
        busiest = max(levels)
        print(f"\nAt {busiest} users, by request (slowest p95 first):")
        rows = [(key, figures(row)) for key, row in levels[busiest].items() if key != "Aggregated"]
        for key, (_rate, p50, p95, errors, count) in sorted(rows, key=lambda item: -item[1][2]):
            print(f"  {key:<44} {count:>6}  p50 {p50:>6.0f}  p95 {p95:>6.0f}  errors {errors}")
        print(f"\nlocust CSVs and gunicorn's access log: {work}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
