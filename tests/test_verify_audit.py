"""`manage.py verify_audit` finds every kind of tampering; the database refuses to change history."""

import datetime
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone
from review.audit import (
    checkpoint_signature,
    install_append_only_guard,
    remove_append_only_guard,
    verify_chain,
)

from review.models import AuditCheckpoint, AuditEvent

EVENTS = 8


@pytest.fixture
def chain(db):
    """Eight chained events, numbered 1 to 8."""
    for number in range(1, EVENTS + 1):
        AuditEvent.objects.record(action=AuditEvent.Action.LOGIN_FAILED, data={"username": f"user{number}"})
    assert list(AuditEvent.objects.values_list("sequence", flat=True)) == list(range(1, EVENTS + 1))


@pytest.fixture
def tamper(chain):
    """Lift the database's guard for the attacker; put it back afterwards."""
    remove_append_only_guard(connection)
    yield AuditEvent.objects
    install_append_only_guard(connection)


def broken_at() -> str:
    """Run the command on a tampered log; return its complaint."""
    with pytest.raises(CommandError) as error:
        call_command("verify_audit")
    return str(error.value)


def test_it_passes_an_intact_chain(chain, capsys):
    call_command("verify_audit")
    head = AuditEvent.objects.get(sequence=EVENTS)
    assert f"Audit chain intact: {EVENTS} events, head {head.hash}" in capsys.readouterr().out


def test_it_finds_a_changed_row(tamper):
    tamper.filter(sequence=3).update(data={"username": "someone else"})
    assert "broken at sequence 3: its content does not match its hash" in broken_at()


def test_it_finds_a_changed_row_whose_hash_was_recomputed(tamper):
    event = tamper.get(sequence=3)
    event.opinion = "改写"
    tamper.filter(sequence=3).update(opinion="改写", hash=event.compute_hash())
    assert "broken at sequence 4: does not follow the previous event" in broken_at()


def test_it_finds_a_deleted_row(tamper):
    tamper.filter(sequence=3).delete()
    assert "broken at sequence 3: sequence 3 is missing (found 4)" in broken_at()


def test_it_finds_an_inserted_row(tamper):
    # Make room after event 3, one row at a time (a unique column), then forge a well-chained event 4.
    for sequence in range(EVENTS, 3, -1):
        tamper.filter(sequence=sequence).update(sequence=sequence + 1)
    previous = tamper.get(sequence=3)
    forged = AuditEvent(
        sequence=4,
        created_at=previous.created_at + datetime.timedelta(seconds=1),
        action=AuditEvent.Action.LOGIN_FAILED,
        data={"username": "forged"},
        prev_hash=previous.hash,
    )
    forged.hash = forged.compute_hash()
    forged.save(force_insert=True)
    assert "broken at sequence 5: does not follow the previous event" in broken_at()


def test_it_finds_two_rows_swapped(tamper):
    tamper.filter(sequence=4).update(sequence=1000)
    tamper.filter(sequence=3).update(sequence=4)
    tamper.filter(sequence=1000).update(sequence=3)
    assert "broken at sequence 3: does not follow the previous event" in broken_at()


def test_it_finds_the_tail_cut_after_a_checkpoint(tamper):
    checkpoint = AuditEvent.objects.checkpoint_now()
    assert checkpoint.sequence == EVENTS
    tamper.filter(sequence__gte=6).delete()
    assert f"broken at sequence 6: events from 6 on are missing (signed on {checkpoint.day} up to {EVENTS})" in (
        broken_at()
    )


def test_it_finds_a_forged_checkpoint(chain):
    # Inserting needs no tampering with the guard: the forger lacks only the key.
    event = AuditEvent.objects.get(sequence=5)
    day = timezone.localdate() - datetime.timedelta(days=1)
    AuditCheckpoint.objects.create(day=day, sequence=5, hash=event.hash, signature="0" * 64)
    assert f"broken at sequence 5: the checkpoint of {day} is not genuine" in broken_at()


def test_it_finds_a_checkpoint_that_no_longer_matches(tamper):
    day = timezone.localdate() - datetime.timedelta(days=1)
    forged_hash = "f" * 64
    AuditCheckpoint.objects.create(
        day=day, sequence=5, hash=forged_hash, signature=checkpoint_signature(day, 5, forged_hash)
    )
    assert f"broken at sequence 5: differs from the checkpoint of {day}" in broken_at()


def test_it_accepts_a_genuine_checkpoint(chain):
    assert AuditEvent.objects.checkpoint_now().sequence == EVENTS
    call_command("verify_audit")
    assert verify_chain().ok


@pytest.mark.parametrize("table", ["review_auditevent", "review_auditcheckpoint"])
@pytest.mark.parametrize("statement", ["UPDATE {table} SET sequence = sequence + 100", "DELETE FROM {table}"])
def test_the_database_refuses_to_change_history(chain, table, statement):
    AuditEvent.objects.checkpoint_now()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement.format(table=table))
    assert AuditEvent.objects.count() == EVENTS
    assert AuditCheckpoint.objects.count() == 1
    assert verify_chain().ok


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="TRUNCATE is PostgreSQL's (SQLite empties tables with DELETE, refused above)",
)
@pytest.mark.parametrize("table", ["review_auditevent", "review_auditcheckpoint"])
def test_the_database_refuses_to_truncate_history(chain, table):
    # Row triggers do not fire on TRUNCATE (nor on `manage.py flush`), and an emptied log verifies as intact.
    AuditEvent.objects.checkpoint_now()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table} CASCADE")
    assert AuditEvent.objects.count() == EVENTS
    assert AuditCheckpoint.objects.count() == 1
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
                AuditEvent.objects.record(action=AuditEvent.Action.LOGIN_FAILED, data={"thread": number, "i": index})
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
    assert AuditEvent.objects.filter(data__has_key="thread").count() == threads * per_thread
    result = verify_chain()
    assert result.ok, result.problem
    assert result.events == len(sequences)
