"""Checking the chain: every event follows the one before, matches its hash and bears the key's signature,
and every checkpoint is genuine and agrees with the event it names.

The events are read in ranges of sequence numbers, each checked on its own (an event's hash depends only on
its own fields and the previous hash it stores), and the ranges are then stitched together. The database
builds each event's canonical text itself (chain.canonical_sql), which is most of the work; a large chain is
spread over several processes, each with its own connection.
"""

import datetime
import multiprocessing
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from . import chain
from .guards import missing_guards
from .models import AuditEvent, ChainHead, Checkpoint, Verification
from .ranges import RangeResult, check_range, check_range_apart

RANGE_SIZE = 100_000
# Below this many events a single process is quicker than starting others.
PARALLEL_FROM = 200_000
# The worker signs a checkpoint within a minute of new events; older unsigned events deserve a warning.
UNSIGNED_GRACE = datetime.timedelta(minutes=2)


@dataclass
class Result:
    ok: bool
    events: int
    head: ChainHead
    bad_sequence: int | None = None
    problem: str = ""
    warnings: list[str] = field(default_factory=list)
    checkpoint: int = 0  # the newest checkpoint checked


def _range_sql(vendor: str, first: int, last: int) -> str:
    """Return the statement that reads a range for check_range; PostgreSQL hashes each event itself (hashed=True)."""
    canonical = chain.canonical_sql(vendor)
    if vendor == "postgresql":
        canonical = f"encode(sha256(convert_to(prev_hash || chr(10) || {canonical}, 'UTF8')), 'hex')"
    # Integers only, so that any DB-API driver runs the statement as it is, without parameters.
    return (
        f"SELECT sequence, prev_hash, hash, signature, {canonical} "
        f"FROM audit_event WHERE sequence >= {int(first)} AND sequence <= {int(last)} ORDER BY sequence"
    )


def _can_parallelise(total: int) -> bool:
    # Other processes can see neither an open transaction's rows nor an in-memory SQLite database.
    in_memory = connection.vendor == "sqlite" and connection.is_in_memory_db()
    return total >= PARALLEL_FROM and (os.cpu_count() or 1) > 1 and not connection.in_atomic_block and not in_memory


def _results(first: int, last: int, key: bytes) -> Iterator[RangeResult]:
    """Yield the result of each range in order, checked here or in worker processes."""
    vendor = connection.vendor
    jobs = [
        (connection.settings_dict, vendor, _range_sql(vendor, start, end), start, end, key)
        for start in range(first, last + 1, RANGE_SIZE)
        for end in [min(start + RANGE_SIZE - 1, last)]
    ]
    if not _can_parallelise(last - first + 1):
        with connection.cursor() as cursor:
            for _settings, _vendor, sql, start, end, key in jobs:
                yield check_range(cursor, sql, start, end, key, hashed=vendor == "postgresql")
        return
    # "spawn": each worker is a fresh interpreter, so no lock held by another thread here is copied into it.
    with multiprocessing.get_context("spawn").Pool(os.cpu_count()) as pool:
        yield from pool.imap(check_range_apart, jobs)


@dataclass(frozen=True)
class Verified:
    """Where a successful verification stopped: the newest event and the newest checkpoint it checked."""

    head: ChainHead
    checkpoint: int = 0


def verify_chain(*, after: Verified | None = None, progress: Callable[[int, int], None] | None = None) -> Result:
    """Check the chain up to its current head, from the start or from where an earlier verification stopped."""
    head = AuditEvent.objects.head()
    key = settings.AUDIT_KEY.encode()
    first, prev_hash = 1, chain.GENESIS_HASH
    if after is not None and after.head.sequence:
        stored = AuditEvent.objects.filter(sequence=after.head.sequence).values_list("hash", flat=True).first()
        if stored != after.head.hash:
            return Result(False, 0, head, after.head.sequence, "differs from what an earlier verification saw")
        first, prev_hash = after.head.sequence + 1, after.head.hash
    total, done = max(0, head.sequence - first + 1), 0
    for part in _results(first, head.sequence, key) if total else ():
        if part.count and part.first_prev_hash != prev_hash:
            return Result(False, done, head, first + done, "does not follow the event before it")
        if part.bad_sequence is not None:
            return Result(False, done + part.count, head, part.bad_sequence, part.problem)
        done += part.count
        prev_hash = part.last_hash or prev_hash
        if progress:
            progress(done, total)
    result = Result(True, done, head)
    _check_checkpoints(result, after=after.checkpoint if after else 0)
    return result


def _check_checkpoints(result: Result, *, after: int) -> None:
    """Check the checkpoints after number `after`: genuine, in order, none missing, each agreeing with the event
    it names; then look for a cut tail and for events no checkpoint covers yet."""
    event_hash = AuditEvent.objects.filter(sequence=OuterRef("sequence")).values("hash")[:1]
    checkpoints = Checkpoint.objects.filter(number__gt=after).annotate(event_hash=Subquery(event_hash))
    previous = Checkpoint.objects.filter(number=after).first() if after else None
    for checkpoint in checkpoints.order_by("number").iterator(chunk_size=2000):
        where = f"checkpoint {checkpoint.number} (signed {timezone.localtime(checkpoint.signed_at):%Y-%m-%d %H:%M:%S})"
        if not checkpoint.is_genuine:
            return _fail(result, checkpoint.sequence, f"{where} is not genuine")
        if checkpoint.number != (previous.number + 1 if previous else 1):
            return _fail(result, checkpoint.sequence, f"checkpoints before {where} are missing")
        if previous is not None and checkpoint.sequence < previous.sequence:
            return _fail(result, checkpoint.sequence, f"{where} goes back from the one before it")
        if checkpoint.sequence > result.head.sequence:
            return _fail(
                result,
                result.head.sequence + 1,
                f"events from {result.head.sequence + 1} on are missing ({where} reached {checkpoint.sequence})",
            )
        if checkpoint.event_hash != checkpoint.hash:
            return _fail(result, checkpoint.sequence, f"differs from {where}")
        previous = checkpoint
    result.checkpoint = previous.number if previous else 0
    signed_through = previous.sequence if previous else 0
    if signed_through < result.head.sequence:
        oldest = AuditEvent.objects.filter(sequence=signed_through + 1).values_list("created_at", flat=True).first()
        if oldest is not None and timezone.now() - oldest > UNSIGNED_GRACE:
            result.warnings.append(
                f"events {signed_through + 1}–{result.head.sequence} are not yet covered by a signed checkpoint, "
                f"the oldest since {timezone.localtime(oldest):%Y-%m-%d %H:%M}: is the worker running?"
            )


def _fail(result: Result, sequence: int, problem: str) -> None:
    result.ok, result.bad_sequence, result.problem = False, sequence, problem


# Integrity checks beyond the chain: other apps register theirs (e.g. that object permissions match the workflow).

_integrity_checks: list[Callable[[], list[str]]] = []


def register_integrity_check(check: Callable[[], list[str]]) -> None:
    """Have `verify_audit` run `check` too; it returns the problems it found (empty when none)."""
    if check not in _integrity_checks:
        _integrity_checks.append(check)


def integrity_problems() -> list[str]:
    """Return the problems found by the database guards' check and every registered integrity check."""
    problems = [f"audit guard: {problem}" for problem in missing_guards(connection)]
    for check in _integrity_checks:
        problems += check()
    return problems


# Verification runs, as the audit page shows them.


def last_verified() -> Verified | None:
    """Return where the newest finished, successful verification stopped."""
    run = (
        Verification.objects.filter(status=Verification.Status.DONE, ok=True, last_sequence__isnull=False)
        .order_by("-last_sequence", "-checkpoints_through", "-pk")
        .first()
    )
    return Verified(ChainHead(run.last_sequence, run.last_hash), run.checkpoints_through) if run else None


def run_verification(run: Verification) -> Verification:
    """Carry out a verification run, recording its progress and its result on the row."""
    runs = Verification.objects.filter(pk=run.pk)
    after = last_verified() if run.kind == Verification.Kind.INCREMENTAL else None
    run.status, run.started_at = Verification.Status.RUNNING, timezone.now()
    run.first_sequence = after.head.sequence + 1 if after else 1
    run.save(update_fields=["status", "started_at", "first_sequence"])

    def progress(done: int, total: int) -> None:
        runs.update(events_done=done, events_total=total)

    result = verify_chain(after=after, progress=progress)
    run.status, run.finished_at = Verification.Status.DONE, timezone.now()
    run.ok, run.bad_sequence, run.problem = result.ok, result.bad_sequence, result.problem
    run.warnings = result.warnings
    run.events_done = result.events
    run.events_total = max(run.events_total, result.events)
    if result.ok:
        run.last_sequence, run.last_hash = result.head.sequence, result.head.hash
        run.checkpoints_through = result.checkpoint
    run.save()
    return run


def verify_new_events() -> Verification:
    """Check what was added since the last successful verification (the worker does this every minute).

    When nothing was (the same head, no new checkpoint), the last run is only marked as checked again, so
    that a quiet log does not gather a row a minute.
    """
    after = last_verified()
    newest = Checkpoint.objects.latest_signed()
    if (
        after is not None
        and after.head == AuditEvent.objects.head()
        and after.checkpoint == (newest.number if newest else 0)
    ):
        run = (
            Verification.objects.filter(status=Verification.Status.DONE, ok=True)
            .order_by("-finished_at", "-pk")
            .first()
        )
        if run is not None and run.last_sequence == after.head.sequence:
            run.finished_at = timezone.now()
            run.save(update_fields=["finished_at"])
            return run
    return run_verification(Verification.objects.create(kind=Verification.Kind.INCREMENTAL))
