"""The audit chain: the context each event records, how it is appended, hashed, checkpointed and verified.

Each event's hash is SHA-256 over the previous event's hash and a canonical JSON form of the event, so
changing, deleting, inserting or reordering a row breaks the chain at that row. The database refuses
UPDATE and DELETE on the table (triggers installed by migration 0003). Once a day the head of the chain
is signed with a key that is not in the database (AuditCheckpoint), so cutting off the tail shows too.
"""

import contextvars
import datetime
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

GENESIS_HASH = "0" * 64
# Any constant will do; it names the lock that serialises appends on PostgreSQL.
_APPEND_LOCK_ID = 0x1A0D17

HASHED_FIELDS = (
    "sequence",
    "created_at",
    "actor_id",
    "actor_name",
    "actor_role",
    "action",
    "document_id",
    "object_repr",
    "revision_hash",
    "from_state",
    "to_state",
    "stage",
    "opinion",
    "ip_address",
    "user_agent",
    "request_id",
    "data",
    "prev_hash",
)
APPEND_ONLY_TABLES = ("review_auditevent", "review_auditcheckpoint")


@dataclass(frozen=True)
class RequestContext:
    ip_address: str | None = None
    user_agent: str = ""
    request_id: str = ""

    @classmethod
    def from_request(cls, request) -> "RequestContext":
        return cls(
            ip_address=request.META.get("REMOTE_ADDR") or None,
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
            request_id=(request.META.get("HTTP_X_REQUEST_ID") or uuid.uuid4().hex)[:64],
        )


current_request: contextvars.ContextVar[RequestContext] = contextvars.ContextVar(
    "audit_request_context", default=RequestContext()
)


def event_hash(values: dict) -> str:
    """Return the hash of an event given its HASHED_FIELDS values (prev_hash included)."""
    canonical = dict(values)
    canonical["created_at"] = values["created_at"].astimezone(datetime.UTC).isoformat(timespec="microseconds")
    body = json.dumps(canonical, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(values["prev_hash"].encode() + body.encode()).hexdigest()


def checkpoint_signature(day: datetime.date, sequence: int, head: str) -> str:
    """Return the HMAC that vouches for a day's head; the key lives in settings, not the database."""
    message = f"{day.isoformat()}|{sequence}|{head}".encode()
    return hmac.new(settings.AUDIT_CHECKPOINT_KEY.encode(), message, hashlib.sha256).hexdigest()


class AuditEventQuerySet(models.QuerySet):
    def matching(
        self,
        *,
        since: datetime.date | None = None,
        until: datetime.date | None = None,
        department=None,
        document=None,
        actor=None,
        action: str = "",
    ) -> "AuditEventQuerySet":
        """Return the events that match an auditor's filters (days are whole days in the local zone)."""
        events = self
        if since:
            events = events.filter(created_at__gte=_start_of(since))
        if until:
            events = events.filter(created_at__lt=_start_of(until + datetime.timedelta(days=1)))
        if department:
            events = events.filter(document__department=department)
        if document:
            events = events.filter(document=document)
        if actor:
            events = events.filter(actor=actor)
        if action:
            events = events.filter(action=action)
        return events


def _start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


class AuditEventManager(models.Manager.from_queryset(AuditEventQuerySet)):
    def record(
        self,
        *,
        action: str,
        actor=None,
        actor_role: str = "",
        document=None,
        from_state: str = "",
        to_state: str = "",
        stage: str = "",
        opinion: str = "",
        data: dict | None = None,
    ):
        """Append one event to the chain, inside the caller's transaction."""
        context = current_request.get()
        known_actor = actor is not None and actor.is_authenticated
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_APPEND_LOCK_ID])
            # SQLite needs no lock: its transactions begin IMMEDIATE (settings), one writer at a time.
            last = self.order_by("-sequence").values("sequence", "hash", "created_at").first()
            now = timezone.now()
            if last:
                self._checkpoint_if_new_day(last, now)
            event = self.model(
                sequence=last["sequence"] + 1 if last else 1,
                created_at=now,
                actor=actor if known_actor else None,
                actor_name=actor.printed_name if known_actor else "",
                actor_role=str(actor_role),
                action=action,
                document=document,
                object_repr=str(document)[:200] if document is not None else "",
                revision_hash=document.current_revision.content_hash
                if document is not None and document.current_revision_id
                else "",
                from_state=from_state,
                to_state=to_state,
                stage=str(stage),
                opinion=opinion,
                ip_address=context.ip_address,
                user_agent=context.user_agent,
                request_id=context.request_id,
                data=data or {},
                prev_hash=last["hash"] if last else GENESIS_HASH,
            )
            event.hash = event.compute_hash()
            event.save(force_insert=True)
        return event

    def _checkpoint_if_new_day(self, head: dict, now: datetime.datetime) -> None:
        """On the first append of a day, sign the previous day's last event as that day's checkpoint."""
        head_day = timezone.localdate(head["created_at"])
        if head_day >= timezone.localdate(now):
            return
        from .models import AuditCheckpoint

        AuditCheckpoint.objects.get_or_create(
            day=head_day,
            defaults={
                "sequence": head["sequence"],
                "hash": head["hash"],
                "signature": checkpoint_signature(head_day, head["sequence"], head["hash"]),
            },
        )

    def checkpoint_now(self):
        """Sign the current head under today's date (for `verify_audit --checkpoint`, e.g. from cron)."""
        from .models import AuditCheckpoint

        with transaction.atomic():
            head = self.order_by("-sequence").values("sequence", "hash").first()
            if head is None:
                return None
            today = timezone.localdate()
            if AuditCheckpoint.objects.filter(day=today).exists():
                return None
            return AuditCheckpoint.objects.create(
                day=today,
                sequence=head["sequence"],
                hash=head["hash"],
                signature=checkpoint_signature(today, head["sequence"], head["hash"]),
            )


@dataclass
class Verification:
    ok: bool
    events: int
    head_hash: str
    first_bad_sequence: int | None = None
    problem: str = ""


def verify_chain(batch_size: int = 5000) -> Verification:
    """Recompute the whole chain and check it against the signed checkpoints."""
    from .models import AuditCheckpoint, AuditEvent

    expected_sequence, prev_hash, count = 1, GENESIS_HASH, 0
    rows = AuditEvent.objects.order_by("sequence").values(*HASHED_FIELDS, "hash").iterator(chunk_size=batch_size)
    hashes_at_checkpoints = {}
    checkpoints = list(AuditCheckpoint.objects.order_by("day"))
    checkpoint_sequences = {c.sequence for c in checkpoints}
    for row in rows:
        sequence = row["sequence"]
        if sequence != expected_sequence:
            return Verification(
                False,
                count,
                prev_hash,
                expected_sequence,
                f"sequence {expected_sequence} is missing (found {sequence})",
            )
        if row["prev_hash"] != prev_hash:
            return Verification(False, count, prev_hash, sequence, "does not follow the previous event")
        stored = row.pop("hash")
        if event_hash(row) != stored:
            return Verification(False, count, prev_hash, sequence, "its content does not match its hash")
        if sequence in checkpoint_sequences:
            hashes_at_checkpoints[sequence] = stored
        prev_hash, expected_sequence, count = stored, sequence + 1, count + 1

    for checkpoint in checkpoints:
        signature = checkpoint_signature(checkpoint.day, checkpoint.sequence, checkpoint.hash)
        if not hmac.compare_digest(signature, checkpoint.signature):
            return Verification(
                False, count, prev_hash, checkpoint.sequence, f"the checkpoint of {checkpoint.day} is not genuine"
            )
        if checkpoint.sequence >= expected_sequence:
            return Verification(
                False,
                count,
                prev_hash,
                expected_sequence,
                f"events from {expected_sequence} on are missing "
                f"(signed on {checkpoint.day} up to {checkpoint.sequence})",
            )
        if hashes_at_checkpoints.get(checkpoint.sequence) != checkpoint.hash:
            return Verification(
                False, count, prev_hash, checkpoint.sequence, f"differs from the checkpoint of {checkpoint.day}"
            )
    return Verification(True, count, prev_hash)


# The database itself refuses to change history: triggers on both supported databases.
_GUARD_STATEMENTS = {
    "sqlite": [
        "CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} "
        "BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END",
        "CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} "
        "BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION imprimatur_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'audit records are append-only' USING ERRCODE = 'insufficient_privilege'; END $$",
        "DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
        "CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION imprimatur_append_only()",
        # Row triggers do not fire on TRUNCATE (what `manage.py flush` runs), which would empty the log.
        "DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
        "CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION imprimatur_append_only()",
    ],
}
_UNGUARD_STATEMENTS = {
    "sqlite": ["DROP TRIGGER IF EXISTS {table}_no_update", "DROP TRIGGER IF EXISTS {table}_no_delete"],
    "postgresql": [
        "DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
        "DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
    ],
}


def install_append_only_guard(using=connection) -> None:
    """Make the database refuse UPDATE, DELETE and TRUNCATE on the audit tables."""
    _run(using, _GUARD_STATEMENTS)


def remove_append_only_guard(using=connection) -> None:
    """Drop the triggers: only for migrating backwards and for emptying a test database."""
    _run(using, _UNGUARD_STATEMENTS)


def _run(using, statements: dict) -> None:
    with using.cursor() as cursor:
        for table in APPEND_ONLY_TABLES:
            for statement in statements[using.vendor]:
                cursor.execute(statement.format(table=table))
