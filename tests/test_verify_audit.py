"""`manage.py verify_audit` finds every kind of tampering; the database refuses to change history."""

import datetime
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone

from accounts.models import AuditAction
from audit import guards
from audit.chain import checkpoint_message, event_hash, sign
from audit.models import AuditEvent, Checkpoint
from audit.verify import verify_chain

EVENTS = 8


@pytest.fixture
def chain(db):
    """Eight chained events, numbered 1 to 8."""
    for number in range(1, EVENTS + 1):
        AuditEvent.objects.record(action=AuditAction.LOGIN_FAILED, data={"username": f"user{number}"})
    assert list(AuditEvent.objects.values_list("sequence", flat=True)) == list(range(1, EVENTS + 1))


@pytest.fixture
def tamper(chain):
    """Lift the database's guards for the attacker; put them back afterwards."""
    guards.remove(connection)
    try:
        yield AuditEvent.objects
    finally:
        guards.install(connection)
    assert guards.missing_guards(connection) == []


def broken_at() -> str:
    """Run the command on a tampered log; return its complaint."""
    with pytest.raises(CommandError) as error:
        call_command("verify_audit")
    return str(error.value)


def rehashed(event: AuditEvent) -> str:
    """Return the hash an event's fields call for (what anyone can compute; the signature needs the key)."""
    return event_hash(event.prev_hash, event.canonical())


def described(checkpoint: Checkpoint) -> str:
    """Return how verification names a checkpoint."""
    checkpoint.refresh_from_db()
    return f"checkpoint {checkpoint.number} (signed {timezone.localtime(checkpoint.signed_at):%Y-%m-%d %H:%M:%S})"


def test_it_passes_an_intact_chain(chain, capsys):
    call_command("verify_audit")
    head = AuditEvent.objects.get(sequence=EVENTS)
    assert f"Audit chain intact: {EVENTS} events, head {head.hash}" in capsys.readouterr().out


def test_it_finds_a_changed_row(tamper):
    tamper.filter(sequence=3).update(data={"username": "someone else"})
    assert "broken at sequence 3: its content does not match its hash" in broken_at()


def test_it_finds_a_changed_row_whose_hash_was_recomputed_without_the_key(tamper):
    event = tamper.get(sequence=3)
    event.comment = "改写"
    tamper.filter(sequence=3).update(comment="改写", hash=rehashed(event))
    assert "broken at sequence 3: its signature is not genuine (made without the key)" in broken_at()


def test_it_finds_a_changed_row_rehashed_and_signed_again_with_the_key(tamper):
    # Even someone who holds the key cannot rewrite one event without breaking the link to the next.
    event = tamper.get(sequence=3)
    event.comment = "改写"
    forged_hash = rehashed(event)
    tamper.filter(sequence=3).update(comment="改写", hash=forged_hash, signature=sign(forged_hash))
    assert "broken at sequence 4: does not follow the event before it" in broken_at()


def test_it_finds_a_deleted_row(tamper):
    tamper.filter(sequence=3).delete()
    assert "broken at sequence 3: event 3 is missing" in broken_at()


def test_it_finds_an_inserted_row(tamper):
    # Make room after event 3, one row at a time (the key is unique), then forge a well-chained, signed event 4.
    for sequence in range(EVENTS, 3, -1):
        tamper.filter(sequence=sequence).update(sequence=sequence + 1)
    previous = tamper.get(sequence=3)
    forged = AuditEvent(
        sequence=4,
        created_at=previous.created_at + datetime.timedelta(seconds=1),
        action=AuditAction.LOGIN_FAILED,
        data={"username": "forged"},
        prev_hash=previous.hash,
    )
    forged.hash = rehashed(forged)
    forged.signature = sign(forged.hash)
    forged.save(force_insert=True)
    assert "broken at sequence 5: does not follow the event before it" in broken_at()


def test_it_finds_a_forged_event_appended_without_the_key(chain):
    # Appending in order needs no tampering with the guards: the forger lacks only the key.
    head = AuditEvent.objects.head()
    forged = AuditEvent(
        sequence=head.sequence + 1,
        created_at=timezone.now(),
        action=AuditAction.LOGIN,
        data={},
        prev_hash=head.hash,
    )
    forged.hash = rehashed(forged)
    forged.signature = "0" * 64
    forged.save(force_insert=True)
    assert f"broken at sequence {EVENTS + 1}: its signature is not genuine (made without the key)" in broken_at()


def test_it_finds_two_rows_swapped(tamper):
    tamper.filter(sequence=4).update(sequence=1000)
    tamper.filter(sequence=3).update(sequence=4)
    tamper.filter(sequence=1000).update(sequence=3)
    assert "broken at sequence 3: does not follow the event before it" in broken_at()


def test_it_finds_the_tail_cut_after_a_checkpoint(tamper):
    checkpoint = Checkpoint.sign_head()
    assert checkpoint.sequence == EVENTS
    tamper.filter(sequence__gte=6).delete()
    assert f"broken at sequence 6: events from 6 on are missing ({described(checkpoint)} reached {EVENTS})" in (
        broken_at()
    )


def test_it_finds_a_forged_checkpoint(chain):
    # Inserting needs no tampering with the guards: the forger lacks only the key.
    event = AuditEvent.objects.get(sequence=5)
    checkpoint = Checkpoint.objects.create(
        number=1, sequence=5, hash=event.hash, signed_at=timezone.now(), signature="0" * 64
    )
    assert f"broken at sequence 5: {described(checkpoint)} is not genuine" in broken_at()


def test_it_finds_a_checkpoint_that_no_longer_matches(chain):
    forged_hash, signed_at = "f" * 64, timezone.now()
    checkpoint = Checkpoint.objects.create(
        number=1,
        sequence=5,
        hash=forged_hash,
        signed_at=signed_at,
        signature=sign(checkpoint_message(1, 5, forged_hash, signed_at)),
    )
    assert checkpoint.is_genuine
    assert f"broken at sequence 5: differs from {described(checkpoint)}" in broken_at()


def test_it_accepts_a_genuine_checkpoint(chain):
    checkpoint = Checkpoint.sign_head()
    assert (checkpoint.number, checkpoint.sequence) == (1, EVENTS)
    assert checkpoint.hash == AuditEvent.objects.head().hash
    assert Checkpoint.sign_head() is None  # nothing new to sign
    call_command("verify_audit")
    result = verify_chain()
    assert result.ok
    assert result.warnings == []


def test_it_reports_missing_guards(chain):
    guards.remove(connection)
    try:
        with pytest.raises(CommandError) as error:
            call_command("verify_audit")
    finally:
        guards.install(connection)
    assert "Integrity checks failed" in str(error.value)
    assert "audit guard: trigger audit_event_" in str(error.value)
    call_command("verify_audit")


@pytest.mark.parametrize("table", ["audit_event", "audit_checkpoint"])
@pytest.mark.parametrize("statement", ["UPDATE {table} SET sequence = sequence + 100", "DELETE FROM {table}"])
def test_the_database_refuses_to_change_history(chain, table, statement):
    Checkpoint.sign_head()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement.format(table=table))
    assert AuditEvent.objects.count() == EVENTS
    assert Checkpoint.objects.count() == 1
    assert verify_chain().ok


def copy_statement(*, sequence: int, replacing: bool) -> str:
    """Return SQL that inserts a copy of event 3 as event `sequence` (over the existing one with `replacing`)."""
    columns = [field.column for field in AuditEvent._meta.concrete_fields]
    values = ", ".join(str(sequence) if column == "sequence" else column for column in columns)
    if not replacing:
        verb, conflict = "INSERT", ""
    elif connection.vendor == "postgresql":
        verb, conflict = "INSERT", " ON CONFLICT (sequence) DO UPDATE SET comment = 'overwritten'"
    else:
        verb, conflict = "INSERT OR REPLACE", ""
    return (
        f"{verb} INTO audit_event ({', '.join(columns)}) SELECT {values} FROM audit_event WHERE sequence = 3{conflict}"
    )


@pytest.mark.parametrize(("sequence", "replacing"), [(3, True), (EVENTS + 2, False)])
def test_the_database_refuses_an_event_out_of_order(chain, sequence, replacing):
    # Neither over an existing event (SQLite's INSERT OR REPLACE deletes the row it replaces) nor leaving a gap.
    Checkpoint.sign_head()
    with pytest.raises(DatabaseError, match="appended in order"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(copy_statement(sequence=sequence, replacing=replacing))
    head = AuditEvent.objects.head()
    with pytest.raises(DatabaseError, match="appended in order"), transaction.atomic():
        Checkpoint.objects.create(number=3, sequence=head.sequence, hash=head.hash, signed_at=timezone.now())
    assert AuditEvent.objects.count() == EVENTS
    assert AuditEvent.objects.filter(comment="overwritten").count() == 0
    assert Checkpoint.objects.count() == 1
    assert verify_chain().ok


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="TRUNCATE is PostgreSQL's (SQLite empties tables with DELETE, refused above)",
)
@pytest.mark.parametrize("table", ["audit_event", "audit_checkpoint"])
def test_the_database_refuses_to_truncate_history(chain, table):
    # Row triggers do not fire on TRUNCATE (nor on `manage.py flush`), and an emptied log verifies as intact.
    Checkpoint.sign_head()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table} CASCADE")
    assert AuditEvent.objects.count() == EVENTS
    assert Checkpoint.objects.count() == 1
    assert verify_chain().ok


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite admits one writer at a time (BEGIN IMMEDIATE); concurrent appends run in the PostgreSQL pass",
)
def test_concurrent_appends_keep_the_chain_whole(transactional_db):
    threads, per_thread = 8, 25
    start = threading.Barrier(threads)
    errors = []

    def append(number: int) -> None:
        try:
            start.wait()
            for index in range(per_thread):
                AuditEvent.objects.record(action=AuditAction.LOGIN_FAILED, data={"thread": number, "i": index})
        except Exception as error:  # noqa: BLE001 - reported below, in the test's thread
            errors.append(error)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=append, args=(number,)) for number in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert errors == []
    sequences = list(AuditEvent.objects.order_by("sequence").values_list("sequence", flat=True))
    assert sequences == list(range(1, len(sequences) + 1))
    assert sum("thread" in event.data for event in AuditEvent.objects.all()) == threads * per_thread
    result = verify_chain()
    assert result.ok, result.problem
    assert result.events == len(sequences)
