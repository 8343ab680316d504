"""Forgery and truncation are caught, and verification runs incrementally in the worker.

An attacker here has write access to the database but not the audit key (settings.AUDIT_KEY, kept outside it):
they lift the guards, write what they like with hashes recomputed correctly, and put the guards back.
"""

import datetime
import hmac
import threading

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from audit import chain, guards, ranges, verify
from audit.models import AuditEvent, Checkpoint, Verification
from audit.tasks import keep_chain
from audit.verify import last_verified, run_verification, verify_chain, verify_new_events
from review.deadlines import send_reminders
from review.management.commands.worker import PERIODIC_JOBS, run_periodic_jobs
from review.reading import open_scheduled_review

pytestmark = pytest.mark.django_db


@pytest.fixture
def log(db):
    for number in range(5):
        AuditEvent.objects.record(action="tested", data={"n": number})
    return list(AuditEvent.objects.order_by("sequence"))


@pytest.fixture
def attacker():
    """Lift the guards for the duration of the attack; put them back afterwards."""
    guards.remove(connection)
    yield
    guards.install(connection)


def sql(statement: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def forge_append(*, action: str = "approved", signature: str = "") -> AuditEvent:
    """Append an event as someone without the key would: every hash right, the signature guessed."""
    head = AuditEvent.objects.head()
    values = {name: "" for name in chain.HASHED_FIELDS}
    values.update(sequence=head.sequence + 1, created_at=timezone.now(), actor_id=None, object_id=None)
    values.update(action=action, data={"forged": True})
    event_hash = chain.event_hash(head.hash, chain.canonical(values))
    event = AuditEvent(**values, prev_hash=head.hash, hash=event_hash, signature=signature or "0" * 64)
    event.save(force_insert=True)
    return event


def test_an_event_forged_without_the_key_is_detected(log, attacker):
    forged = forge_append()

    result = verify_chain()

    assert not result.ok
    assert result.bad_sequence == forged.sequence
    assert "signature is not genuine" in result.problem
    with pytest.raises(CommandError, match=f"broken at sequence {forged.sequence}: its signature is not genuine"):
        call_command("verify_audit")


def test_an_event_rewritten_with_its_hash_recomputed_is_detected(log, attacker):
    target = log[2]
    values = {name: getattr(target, name) for name in chain.HASHED_FIELDS}
    values["comment"] = "someone else approved this"
    new_hash = chain.event_hash(target.prev_hash, chain.canonical(values))
    sql(
        "UPDATE audit_event SET comment = %s, hash = %s WHERE sequence = %s",
        [values["comment"], new_hash, target.sequence],
    )

    result = verify_chain()

    assert (result.ok, result.bad_sequence) == (False, target.sequence)
    assert "signature" in result.problem


def test_a_cut_tail_is_reported_against_the_signed_checkpoint(log, attacker):
    checkpoint = Checkpoint.sign_head()
    sql("DELETE FROM audit_event WHERE sequence > %s", [log[2].sequence])

    result = verify_chain()

    assert not result.ok
    assert result.bad_sequence == log[2].sequence + 1
    assert f"reached {checkpoint.sequence}" in result.problem


def test_a_forged_checkpoint_is_detected(log, attacker):
    Checkpoint.sign_head()
    sql("UPDATE audit_checkpoint SET signature = %s", ["0" * 64])

    result = verify_chain()

    assert not result.ok
    assert "checkpoint 1" in result.problem and "not genuine" in result.problem


def test_a_checkpoint_removed_from_the_middle_is_detected(log, attacker):
    for _round in range(3):
        AuditEvent.objects.record(action="tested")
        Checkpoint.sign_head()
    sql("DELETE FROM audit_checkpoint WHERE number = 2")

    result = verify_chain()

    assert not result.ok
    assert "checkpoints before checkpoint 3" in result.problem and "are missing" in result.problem


def test_events_no_checkpoint_covers_after_two_minutes_are_a_warning(log, monkeypatch):
    later = timezone.now() + datetime.timedelta(minutes=3)
    monkeypatch.setattr("audit.verify.timezone.now", lambda: later)

    result = verify_chain()

    assert result.ok
    assert result.warnings == [
        f"events 1–{log[-1].sequence} are not yet covered by a signed checkpoint, the oldest since "
        f"{timezone.localtime(log[0].created_at):%Y-%m-%d %H:%M}: is the worker running?"
    ]


def test_the_worker_signs_a_checkpoint_over_new_events_and_verifies_them(log):
    keep_chain()

    checkpoint = Checkpoint.objects.get()
    assert (checkpoint.number, checkpoint.sequence, checkpoint.hash) == (1, log[-1].sequence, log[-1].hash)
    assert checkpoint.is_genuine
    run = Verification.objects.get()
    assert (run.kind, run.ok, run.first_sequence, run.last_sequence) == (Verification.Kind.INCREMENTAL, True, 1, 5)

    checked = run.finished_at
    keep_chain()  # nothing new: no second checkpoint, and no new row, only the time it was checked again

    assert Checkpoint.objects.count() == 1
    assert Verification.objects.count() == 1
    assert Verification.objects.get().finished_at > checked

    AuditEvent.objects.record(action="tested")
    keep_chain()

    assert Checkpoint.objects.count() == 2
    newest = Verification.objects.first()
    assert (newest.ok, newest.first_sequence, newest.last_sequence, newest.checkpoints_through) == (True, 6, 6, 2)


def test_incremental_verification_checks_only_what_is_new(log):
    assert verify_new_events().ok
    for number in range(3):
        AuditEvent.objects.record(action="tested", data={"later": number})

    run = verify_new_events()

    assert (run.ok, run.first_sequence, run.last_sequence, run.events_done) == (True, 6, 8, 3)
    assert last_verified().head.sequence == 8


def test_incremental_verification_notices_that_its_starting_point_changed(log, attacker):
    verify_new_events()
    sql("UPDATE audit_event SET hash = %s WHERE sequence = %s", ["f" * 64, log[-1].sequence])

    run = verify_new_events()

    assert (run.ok, run.bad_sequence) == (False, log[-1].sequence)
    assert run.problem == "differs from what an earlier verification saw"


def test_a_full_verification_finds_tampering_an_incremental_one_has_passed(log, attacker):
    verify_new_events()
    target = log[1]
    sql("UPDATE audit_event SET comment = 'altered' WHERE sequence = %s", [target.sequence])

    assert verify_new_events().ok  # nothing new to check
    full = run_verification(Verification.objects.create(kind=Verification.Kind.FULL))

    assert (full.ok, full.bad_sequence) == (False, target.sequence)
    assert full.problem == "its content does not match its hash"


def test_the_worker_runs_the_periodic_jobs_until_told_to_stop(monkeypatch):
    # The worker closes stale connections after each job; a test's connection holds its transaction.
    monkeypatch.setattr("review.management.commands.worker.close_old_connections", lambda: None)
    stop = threading.Event()
    calls = []
    original = PERIODIC_JOBS[:]
    PERIODIC_JOBS[:] = [(lambda: (calls.append(1), stop.set()), 60)]
    try:
        run_periodic_jobs(stop, tick=0.01)
    finally:
        PERIODIC_JOBS[:] = original
    assert calls == [1]
    assert PERIODIC_JOBS == [(keep_chain, 60), (send_reminders, 300), (open_scheduled_review, 3600)]


def test_ranges_are_checked_apart_and_stitched_together(log, monkeypatch, attacker):
    monkeypatch.setattr("audit.verify.RANGE_SIZE", 2)
    assert verify_chain().ok

    # Someone holding the key re-signs event 3 on a made-up link: a break between two ranges, named at its event.
    third = AuditEvent.objects.get(pk=3)
    new_hash = chain.event_hash("0" * 64, third.canonical())
    sql(
        "UPDATE audit_event SET prev_hash = %s, hash = %s, signature = %s WHERE sequence = 3",
        ["0" * 64, new_hash, chain.sign(new_hash)],
    )
    result = verify_chain()

    assert (result.ok, result.bad_sequence, result.problem) == (False, 3, "does not follow the event before it")


@pytest.mark.django_db(transaction=True)
def test_a_large_chain_is_checked_in_worker_processes(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("worker processes cannot open the in-memory SQLite test database: the PostgreSQL pass runs this")
    for number in range(12):
        AuditEvent.objects.record(action="tested", data={"n": number})
    monkeypatch.setattr("audit.verify.PARALLEL_FROM", 10)
    monkeypatch.setattr("audit.verify.RANGE_SIZE", 5)
    contexts = []
    real_get_context = verify.multiprocessing.get_context
    monkeypatch.setattr(
        "audit.verify.multiprocessing.get_context", lambda method: contexts.append(method) or real_get_context(method)
    )

    assert verify_chain().ok
    guards.remove(connection)
    try:
        sql("UPDATE audit_event SET comment = 'altered' WHERE sequence = 8")
    finally:
        guards.install(connection)
    result = verify_chain()

    assert contexts == ["spawn", "spawn"]
    assert (result.ok, result.bad_sequence, result.problem) == (False, 8, "its content does not match its hash")


@pytest.mark.parametrize("key", [b"", b"k", b"short key", b"k" * 64, b"k" * 65, "长密钥".encode() * 30])
def test_the_range_checker_signs_as_hmac_does(key):
    signed = ranges.hmac_sha256(key)
    for message in (b"", b"a" * 64, "链".encode() * 100):
        assert signed(message) == hmac.digest(key, message, "sha256").hex()


def test_a_break_in_any_range_is_found_and_named(log, monkeypatch, attacker):
    monkeypatch.setattr("audit.verify.RANGE_SIZE", 2)
    for sequence in range(1, len(log) + 1):  # the first event of a range and the last, in every range
        sql("UPDATE audit_event SET comment = 'altered' WHERE sequence = %s", [sequence])
        result = verify_chain()
        sql("UPDATE audit_event SET comment = '' WHERE sequence = %s", [sequence])

        assert (result.ok, result.bad_sequence) == (False, sequence)
        assert (result.problem, result.events) == ("its content does not match its hash", sequence - 1)
    assert verify_chain().ok
