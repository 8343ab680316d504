"""The README's backup and restore procedure works, and `manage.py verify_audit` vouches for what was restored.

Everything runs as an operator would run it: `manage.py` in subprocesses with DATABASE_URL pointing at
throwaway databases (a file for SQLite, databases of their own on the test server for PostgreSQL), filled by
`migrate`, `seed_demo` and a signed checkpoint. Each pass backs up its own kind of database.

The audit key (DJANGO_AUDIT_KEY, earlier DJANGO_AUDIT_CHECKPOINT_KEY) signs every event and checkpoint; it is
kept with the configuration, not in the database, so a restore verifies only with the configuration's key.
"""

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from django.conf import settings
from django.db import connection

MANAGE = Path(settings.BASE_DIR) / "manage.py"
KEY = "backup-test-audit-key"  # kept with the configuration, not in the database (README)
# The setting's name, and the earlier one the settings still accept.
KEY_VARIABLE, EARLIER_KEY_VARIABLE = "DJANGO_AUDIT_KEY", "DJANGO_AUDIT_CHECKPOINT_KEY"
INTACT = re.compile(r"Audit chain intact: (\d+) events, head ([0-9a-f]{64})")
FORGED = "its signature is not genuine (made without the key)"


def manage(url: str, *args: str, key: str = KEY, key_variable: str = KEY_VARIABLE) -> subprocess.CompletedProcess:
    """Run a management command against the database at `url`, as cron or an operator would.

    The key is given under `key_variable` alone, whatever the environment running the tests holds.
    """
    env = {name: value for name, value in os.environ.items() if name not in (KEY_VARIABLE, EARLIER_KEY_VARIABLE)}
    env.update({"DATABASE_URL": url, key_variable: key})
    return subprocess.run(
        [sys.executable, str(MANAGE), *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def run_ok(url: str, *args: str) -> str:
    result = manage(url, *args)
    assert result.returncode == 0, f"manage.py {' '.join(args)}: {result.stderr[-2000:]}"
    return result.stdout


def verified(url: str, **kwargs) -> tuple[int, str]:
    """Return the events and head that `verify_audit` vouches for; fail with its complaint otherwise."""
    result = manage(url, "verify_audit", **kwargs)
    assert result.returncode == 0, result.stderr[-2000:]
    count, head = INTACT.search(result.stdout).groups()
    return int(count), head


def refused(url: str, **kwargs) -> str:
    """Return `verify_audit`'s complaint about a database it must refuse."""
    result = manage(url, "verify_audit", **kwargs)
    assert result.returncode == 1, result.stdout
    return result.stderr


def populate(url: str) -> tuple[int, str]:
    """Migrate, load the demo clinic and sign a checkpoint of the head; return what the chain holds."""
    run_ok(url, "migrate", "--no-input", "--verbosity", "0")
    run_ok(url, "seed_demo")
    out = run_ok(url, "verify_audit", "--checkpoint")
    count, head = INTACT.search(out).groups()
    assert f"Signed checkpoint 1 at sequence {count}." in out
    return int(count), head


# SQLite: the online backup API (or the sqlite3 shell's .backup), restore by copying the file back.


@pytest.fixture(scope="module")
def sqlite_source(tmp_path_factory):
    if connection.vendor != "sqlite":
        pytest.skip("SQLite backups are tested in the SQLite pass")
    path = tmp_path_factory.mktemp("backup") / "db.sqlite3"
    url = f"sqlite:///{path}"
    return path, url, populate(url)


def table_sizes(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as database:
        tables = [row[0] for row in database.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        sizes = {table: database.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables}
    database.close()
    return sizes


def sqlite_backup_with_the_api(source: Path, backup: Path) -> None:
    with sqlite3.connect(source) as live, sqlite3.connect(backup) as copy:
        live.backup(copy)
    copy.close()
    live.close()


def sqlite_backup_with_the_shell(source: Path, backup: Path) -> None:
    if not shutil.which("sqlite3"):
        pytest.skip("the sqlite3 shell is not installed (Debian's package sqlite3)")
    subprocess.run(["sqlite3", str(source), f".backup '{backup}'"], check=True, timeout=60)


@pytest.mark.parametrize("backup", [sqlite_backup_with_the_api, sqlite_backup_with_the_shell], ids=["api", "shell"])
def test_a_sqlite_backup_taken_while_the_app_writes_restores_and_verifies(sqlite_source, tmp_path, backup):
    source, _url, (events, head) = sqlite_source
    # The app is running: a request holds a write transaction open while the backup is taken.
    app = sqlite3.connect(source, isolation_level=None, timeout=20)
    app.execute("BEGIN IMMEDIATE")
    app.execute("INSERT INTO django_session VALUES ('uncommitted', 'x', '2099-01-01 00:00:00')")
    try:
        backup(source, tmp_path / "backup.sqlite3")
    finally:
        app.execute("ROLLBACK")
        app.close()

    restored = tmp_path / "restored.sqlite3"
    shutil.copyfile(tmp_path / "backup.sqlite3", restored)  # restore: the app stopped, the file copied back

    # Compared before verifying: each verification is itself recorded (a row in the restored database).
    assert table_sizes(restored) == table_sizes(source)
    assert verified(f"sqlite:///{restored}") == (events, head)
    with sqlite3.connect(restored) as copy:
        assert copy.execute("SELECT count(*) FROM django_session WHERE session_key = 'uncommitted'").fetchone() == (0,)
    copy.close()


def test_a_tampered_sqlite_restore_is_caught(sqlite_source, tmp_path):
    source, _url, _chain = sqlite_source
    restored = tmp_path / "restored.sqlite3"
    sqlite_backup_with_the_api(source, restored)
    with sqlite3.connect(restored) as copy:
        copy.execute("DROP TRIGGER audit_event_no_update")
        copy.execute("UPDATE audit_event SET comment = '同意，无需修改。' WHERE sequence = 5")
    copy.close()

    assert "Audit chain broken at sequence 5: its content does not match its hash" in refused(f"sqlite:///{restored}")


def test_a_sqlite_restore_needs_the_audit_key_from_the_configuration(sqlite_source, tmp_path):
    source, _url, (events, head) = sqlite_source
    restored = tmp_path / "restored.sqlite3"
    sqlite_backup_with_the_api(source, restored)

    complaint = refused(f"sqlite:///{restored}", key="a-different-key")

    assert f"Audit chain broken at sequence 1: {FORGED}" in complaint
    # The same key under the setting's earlier name still vouches for the restore.
    assert verified(f"sqlite:///{restored}", key_variable=EARLIER_KEY_VARIABLE) == (events, head)


# PostgreSQL: pg_dump -Fc, then pg_restore --clean --if-exists, into a new database or over the damaged one.


def _postgres_tools():
    missing = [tool for tool in ("pg_dump", "pg_restore") if not shutil.which(tool)]
    if missing:
        message = f"{' and '.join(missing)} not found (Debian's package postgresql-client)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}: the PostgreSQL backup test must run in CI.", pytrace=False)
        pytest.skip(message)


class Server:
    """Throwaway databases on the test database's server, dropped at the end."""

    def __init__(self):
        self.params = connection.settings_dict
        self.names: list[str] = []
        self.admin = psycopg.connect(
            host=self.params["HOST"] or None,
            port=self.params["PORT"] or None,
            user=self.params["USER"] or None,
            password=self.params["PASSWORD"] or None,
            dbname="postgres",
            autocommit=True,
        )

    def create(self, purpose: str) -> str:
        name = f"imprimatur_backup_{uuid.uuid4().hex[:10]}_{purpose}"
        self.admin.execute(f'CREATE DATABASE "{name}"')
        self.names.append(name)
        return name

    def url(self, name: str) -> str:
        user = quote(self.params["USER"] or "")
        password = f":{quote(self.params['PASSWORD'])}" if self.params["PASSWORD"] else ""
        return f"postgres://{user}{password}@{self.params['HOST'] or 'localhost'}:{self.params['PORT'] or 5432}/{name}"

    def drop_all(self) -> None:
        for name in self.names:
            self.admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin.close()


@pytest.fixture(scope="module")
def postgres_source(tmp_path_factory):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL backups are tested in the PostgreSQL pass (DATABASE_URL=postgres://...)")
    _postgres_tools()
    server = Server()
    try:
        name = server.create("live")
        url = server.url(name)
        chain = populate(url)
        dump = tmp_path_factory.mktemp("backup") / "imprimatur.dump"
        subprocess.run(["pg_dump", "-Fc", "--file", str(dump), "--dbname", url], check=True, timeout=300)
        yield server, url, dump, chain
    finally:
        server.drop_all()


def pg_restore(dump: Path, url: str) -> None:
    subprocess.run(
        ["pg_restore", "--clean", "--if-exists", "--no-owner", "--exit-on-error", "--dbname", url, str(dump)],
        check=True,
        timeout=300,
    )


def psql(url: str, *statements: str) -> None:
    with psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True) as database:
        for statement in statements:
            database.execute(statement)


def test_a_postgresql_dump_restores_into_a_new_database_and_verifies(postgres_source):
    server, _live, dump, (events, head) = postgres_source
    restored = server.url(server.create("restored"))

    pg_restore(dump, restored)

    assert verified(restored) == (events, head)
    complaint = refused(restored, key="a-different-key")  # the key comes with the configuration, not the dump
    assert f"Audit chain broken at sequence 1: {FORGED}" in complaint
    assert verified(restored, key_variable=EARLIER_KEY_VARIABLE) == (events, head)


def test_a_postgresql_dump_restores_over_a_damaged_database(postgres_source):
    _server, live, dump, (events, head) = postgres_source
    # Someone lifts the guard and deletes the tail of the log: the signed checkpoint shows it.
    psql(
        live,
        "DROP TRIGGER audit_event_append_only ON audit_event",
        f"DELETE FROM audit_event WHERE sequence > {events - 3}",
    )
    complaint = refused(live)
    assert f"Audit chain broken at sequence {events - 2}: events from {events - 2} on are missing" in complaint
    assert f"reached {events})" in complaint

    pg_restore(dump, live)

    assert verified(live) == (events, head)
    with pytest.raises(Exception, match="append-only"):
        psql(live, "DELETE FROM audit_event WHERE sequence = 1")  # the restore brought the guard back


def test_a_tampered_postgresql_restore_is_caught(postgres_source):
    _server, live, dump, _chain = postgres_source
    pg_restore(dump, live)

    psql(
        live,
        "DROP TRIGGER audit_event_append_only ON audit_event",
        "UPDATE audit_event SET comment = '同意，无需修改。' WHERE sequence = 5",
    )

    assert "Audit chain broken at sequence 5: its content does not match its hash" in refused(live)
