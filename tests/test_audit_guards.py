"""The database refuses to change history, and a guard that goes missing is noticed.

The test database is exactly as migrations leave it (tests/conftest.py checks the guards before any test and
never reinstalls them for a test): these tests take a guard away on purpose, see it reported by the system check
and by `verify_audit`, and put it back.
"""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, IntegrityError, connection, transaction

from audit import guards
from audit.checks import check_guards
from audit.models import AuditEvent, Checkpoint
from audit.verify import integrity_problems, verify_chain

pytestmark = pytest.mark.django_db

sqlite_only = pytest.mark.skipif(
    "connection.vendor != 'sqlite'", reason="SQLite's own statements; the PostgreSQL pass runs its own"
)
postgresql_only = pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="PostgreSQL's own statements; the SQLite pass runs its own"
)


@pytest.fixture
def events(db):
    for number in range(3):
        AuditEvent.objects.record(action="tested", data={"n": number})
    Checkpoint.sign_head()
    return list(AuditEvent.objects.order_by("sequence"))


@pytest.fixture
def guards_restored():
    yield
    guards.install(connection)


def raw(sql: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def refused(sql: str, params=()) -> str:
    with pytest.raises((DatabaseError, IntegrityError)) as error, transaction.atomic():
        raw(sql, params)
    return str(error.value)


def test_the_migrated_database_has_every_guard_and_the_system_check_passes():
    assert guards.missing_guards(connection) == []
    assert check_guards() == []


def test_it_refuses_update_and_delete(events):
    assert "append-only" in refused("UPDATE audit_event SET comment = 'changed' WHERE sequence = 1")
    assert "append-only" in refused("DELETE FROM audit_event WHERE sequence = 1")
    assert "append-only" in refused("UPDATE audit_checkpoint SET sequence = 1")
    assert "append-only" in refused("DELETE FROM audit_checkpoint")
    assert verify_chain().ok


def test_it_refuses_an_event_out_of_order(events):
    head = events[-1]
    columns = (
        "sequence, created_at, actor_name, actor_role, action, object_type, object_repr, scope, content_hash, "
        "from_state, to_state, comment, ip_address, user_agent, request_id, data, prev_hash, hash, signature"
    )
    values = "%s, %s, '', '', 'forged', '', '', '', '', '', '', '', '', '', '', '{}', %s, %s, ''"

    for sequence in (head.sequence + 2, head.sequence, 1):
        message = refused(
            f"INSERT INTO audit_event ({columns}) VALUES ({values})", [sequence, head.created_at, head.hash, "f" * 64]
        )
        assert "appended in order" in message or "UNIQUE" in message.upper()
    assert AuditEvent.objects.count() == len(events)


@sqlite_only
def test_sqlite_refuses_insert_or_replace(events):
    first = events[0]
    columns = (
        "sequence, created_at, actor_name, actor_role, action, object_type, object_repr, scope, content_hash, "
        "from_state, to_state, comment, ip_address, user_agent, request_id, data, prev_hash, hash, signature"
    )

    # REPLACE deletes the row it collides with without firing a DELETE trigger: the INSERT trigger stops it first.
    message = refused(
        f"INSERT OR REPLACE INTO audit_event ({columns}) "
        "VALUES (%s, %s, '', '', 'rewritten', '', '', '', '', '', '', '', '', '', '', '{}', %s, %s, '')",
        [first.sequence, first.created_at, first.prev_hash, first.hash],
    )
    assert "appended in order" in message
    message = refused(
        "REPLACE INTO audit_checkpoint (number, sequence, hash, signed_at, signature) "
        "VALUES (1, 1, 'x', '2026-01-01', 'x')"
    )
    assert "appended in order" in message
    assert AuditEvent.objects.get(pk=first.sequence).action == "tested"
    assert verify_chain().ok


@sqlite_only
def test_a_table_rebuild_that_drops_a_trigger_is_reported(events, guards_restored):
    raw("DROP TRIGGER audit_event_no_delete")

    assert guards.missing_guards(connection) == ["trigger audit_event_no_delete is missing"]
    errors = check_guards()
    assert [error.id for error in errors] == ["audit.E001"]
    assert "audit_event_no_delete" in errors[0].msg
    assert integrity_problems()[0] == "audit guard: trigger audit_event_no_delete is missing"
    with pytest.raises(CommandError, match="audit_event_no_delete is missing"):
        call_command("verify_audit")


@sqlite_only
def test_a_trigger_replaced_by_one_that_does_nothing_is_reported(events, guards_restored):
    raw("DROP TRIGGER audit_event_no_update")
    raw("CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event BEGIN SELECT 1; END")

    assert guards.missing_guards(connection) == ["trigger audit_event_no_update has been altered"]


@postgresql_only
def test_a_disabled_or_dropped_trigger_is_reported(events, guards_restored):
    raw("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
    raw("DROP TRIGGER audit_checkpoint_no_truncate ON audit_checkpoint")

    assert guards.missing_guards(connection) == [
        "trigger audit_event_append_only is disabled",
        "trigger audit_checkpoint_no_truncate is missing",
    ]
    assert [error.id for error in check_guards()] == ["audit.E001", "audit.E001"]


@postgresql_only
def test_postgresql_refuses_truncate(events):
    assert "append-only" in refused("TRUNCATE audit_event")
    assert "append-only" in refused("TRUNCATE audit_checkpoint")


def test_the_guard_command_reports_and_reinstalls(events, guards_restored, capsys):
    guards.remove(connection)
    with pytest.raises(CommandError, match="not in place"):
        call_command("audit_guards")

    call_command("audit_guards", "--install")

    assert "Audit guards in place." in capsys.readouterr().out
    assert guards.missing_guards(connection) == []


@postgresql_only
def test_the_runtime_role_is_refused_by_the_database_itself(events):
    """The application may run as a role that owns nothing: it appends to the log and can do nothing else to it."""
    role = "imprimatur_runtime_test"
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            cursor.execute(f"CREATE ROLE {role} NOLOGIN")
    call_command("grant_runtime_role", role)

    def as_runtime(sql: str, params=()) -> str:
        with pytest.raises(DatabaseError) as error, transaction.atomic():
            raw(f"SET LOCAL ROLE {role}")
            raw(sql, params)
        return str(error.value)

    # Refused for want of privilege, before any trigger runs.
    assert "permission denied for table audit_event" in as_runtime("UPDATE audit_event SET comment = 'x'")
    assert "permission denied for table audit_event" in as_runtime("DELETE FROM audit_event")
    assert "permission denied for table audit_event" in as_runtime("TRUNCATE audit_event")
    assert "permission denied for table audit_checkpoint" in as_runtime("DELETE FROM audit_checkpoint")
    assert "must be owner" in as_runtime("DROP TRIGGER audit_event_append_only ON audit_event")
    assert "must be owner" in as_runtime("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
    # What the application does is still allowed: read, append, and work with the other tables.
    with transaction.atomic():
        raw(f"SET LOCAL ROLE {role}")
        event = AuditEvent.objects.record(action="tested", data={"as": "runtime"})
        Checkpoint.sign_head()
        raw("UPDATE review_document SET title = title")
        raw("SET LOCAL ROLE NONE")
    assert AuditEvent.objects.get(pk=event.pk).data == {"as": "runtime"}
    assert verify_chain().ok
