"""The audit log: events in a hash chain, the checkpoints that vouch for its head, verifications and exports.

The log knows nothing of what it records: an event names its object by type and id ("review.document", 12)
and keeps a snapshot of its name, so it outlives everything it mentions. See chain.py for what is hashed.
"""

import datetime
import json
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import chain, labels
from .context import current_request
from .fields import CanonicalJSONField

# Any constant will do; it names the lock that serialises appends on PostgreSQL.
APPEND_LOCK_ID = 0x1A0D17


@dataclass(frozen=True)
class ChainHead:
    sequence: int
    hash: str


def append_lock() -> None:
    """Serialise appends to the chain until the current transaction ends.

    PostgreSQL takes an advisory lock; SQLite needs none, as its transactions begin IMMEDIATE (settings).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [APPEND_LOCK_ID])


def start_of(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


class AuditEventQuerySet(models.QuerySet):
    def matching(
        self,
        *,
        since: datetime.date | None = None,
        until: datetime.date | None = None,
        actor=None,
        action: str = "",
        object_type: str = "",
        object_id: int | None = None,
        scope: str = "",
    ) -> "AuditEventQuerySet":
        """Return the events that match an auditor's filters (days are whole days in the local zone)."""
        events = self
        if since:
            events = events.filter(created_at__gte=start_of(since))
        if until:
            events = events.filter(created_at__lt=start_of(until + datetime.timedelta(days=1)))
        if actor:
            events = events.filter(actor=actor)
        if action:
            events = events.filter(action=action)
        if object_type:
            events = events.filter(object_type=object_type)
        if object_id is not None:
            events = events.filter(object_id=object_id)
        if scope:
            events = events.filter(scope=scope)
        return events

    def about(self, obj) -> "AuditEventQuerySet":
        """Return the events recorded about one object."""
        return self.filter(object_type=obj._meta.label_lower, object_id=obj.pk)


class AuditEventManager(models.Manager.from_queryset(AuditEventQuerySet)):
    def head(self) -> ChainHead:
        """Return the newest event's sequence and hash (0 and the genesis hash for an empty log)."""
        newest = self.order_by("-sequence").values("sequence", "hash").first()
        return ChainHead(newest["sequence"], newest["hash"]) if newest else ChainHead(0, chain.GENESIS_HASH)

    def record(
        self,
        *,
        action: str,
        actor=None,
        actor_role: str = "",
        obj=None,
        object_repr: str | None = None,
        scope: str = "",
        content_hash: str = "",
        from_state: str = "",
        to_state: str = "",
        comment: str = "",
        data: dict | None = None,
    ) -> "AuditEvent":
        """Append one event to the chain, inside the caller's transaction."""
        context = current_request.get()
        known_actor = actor is not None and actor.is_authenticated
        field = self.model._meta.get_field
        values = {
            "created_at": timezone.now(),
            "actor_id": actor.pk if known_actor else None,
            "actor_name": chain.clean_text(actor.printed_name if known_actor else "", field("actor_name").max_length),
            "actor_role": chain.clean_text(actor_role, field("actor_role").max_length),
            "action": chain.clean_text(action, field("action").max_length),
            "object_type": obj._meta.label_lower if obj is not None else "",
            "object_id": obj.pk if obj is not None else None,
            "object_repr": chain.clean_text(
                object_repr if object_repr is not None else (obj if obj is not None else ""),
                field("object_repr").max_length,
            ),
            "scope": chain.clean_text(scope, field("scope").max_length),
            "content_hash": chain.clean_text(content_hash, field("content_hash").max_length),
            "from_state": chain.clean_text(from_state, field("from_state").max_length),
            "to_state": chain.clean_text(to_state, field("to_state").max_length),
            "comment": chain.clean_text(comment),
            "ip_address": chain.clean_ip(context.ip_address),
            "user_agent": chain.clean_text(context.user_agent, field("user_agent").max_length),
            "request_id": chain.clean_text(context.request_id, field("request_id").max_length),
            # Through its canonical text and back: exactly what the database will return.
            "data": json.loads(chain.canonical_json(data or {})),
        }
        # No savepoint of its own inside the caller's transaction (two round trips fewer per action): an error here
        # fails the caller's transaction, which is what it should do anyway.
        with transaction.atomic(savepoint=False):
            append_lock()
            head = self.head()
            values["sequence"] = head.sequence + 1
            event_hash = chain.event_hash(head.hash, chain.canonical(values))
            event = self.model(**values, prev_hash=head.hash, hash=event_hash, signature=chain.sign(event_hash))
            event.save(force_insert=True)
        return event


class AuditEvent(models.Model):
    """An append-only, hash-chained record of one action. Never updated, never deleted."""

    sequence = models.PositiveBigIntegerField(_("sequence"), primary_key=True)
    created_at = models.DateTimeField(_("time"), db_index=True)
    # The link survives deletion of the user (no constraint, no cascade); the snapshots keep names as they were.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    actor_name = models.CharField(_("actor's printed name"), max_length=150, blank=True)
    actor_role = models.CharField(_("actor's role"), max_length=100, blank=True)
    action = models.CharField(_("action"), max_length=40)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.PositiveBigIntegerField(_("object id"), null=True, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    # The unit the event concerns (for pieces and roles, their department), so the log can be read by unit.
    scope = models.CharField(_("scope"), max_length=64, blank=True)
    content_hash = models.CharField(_("content hash"), max_length=64, blank=True)
    from_state = models.CharField(_("from state"), max_length=32, blank=True)
    to_state = models.CharField(_("to state"), max_length=32, blank=True)
    comment = models.TextField(_("opinion or reason"), blank=True)
    ip_address = models.CharField(_("IP address"), max_length=45, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    data = CanonicalJSONField(_("data"), default=dict, blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64)
    signature = models.CharField(_("signature"), max_length=64)

    objects = AuditEventManager()

    class Meta:
        db_table = "audit_event"
        ordering = ["sequence"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        default_permissions = ("view",)
        indexes = [
            models.Index(fields=["object_type", "object_id", "sequence"], name="audit_event_object"),
            models.Index(fields=["actor", "sequence"], name="audit_event_actor"),
            models.Index(fields=["scope", "sequence"], name="audit_event_scope"),
            models.Index(fields=["action", "sequence"], name="audit_event_action"),
        ]

    def __str__(self):
        return f"#{self.sequence} {self.get_action_display()}"

    def get_action_display(self) -> str:
        return labels.label(self.action)

    def canonical(self) -> str:
        return chain.canonical({name: getattr(self, name) for name in chain.HASHED_FIELDS})


class CheckpointQuerySet(models.QuerySet):
    def latest_signed(self) -> "Checkpoint | None":
        return self.order_by("-number").first()


class Checkpoint(models.Model):
    """The head of the chain at a moment, signed with the audit key (which is not in the database).

    The worker signs one at most a minute after new events arrive. Events can be cut off the end of the
    log without breaking the chain; a checkpoint says how far it reached, so a cut tail shows.
    """

    number = models.PositiveBigIntegerField(_("number"), primary_key=True)
    sequence = models.PositiveBigIntegerField(_("head sequence"))
    hash = models.CharField(_("head hash"), max_length=64)
    signed_at = models.DateTimeField(_("signed at"))
    signature = models.CharField(_("signature"), max_length=64)

    objects = CheckpointQuerySet.as_manager()

    class Meta:
        db_table = "audit_checkpoint"
        ordering = ["number"]
        verbose_name = _("audit checkpoint")
        verbose_name_plural = _("audit checkpoints")
        default_permissions = ("view",)

    def __str__(self):
        return f"#{self.number}: {self.sequence} {self.hash[:12]}"

    def describe(self) -> dict:
        """Return the checkpoint as a manifest or a printed sheet shows it."""
        return {
            "number": self.number,
            "sequence": self.sequence,
            "hash": self.hash,
            "signed_at": timezone.localtime(self.signed_at).isoformat(),
            "signature": self.signature,
        }

    @property
    def message(self) -> str:
        return chain.checkpoint_message(self.number, self.sequence, self.hash, self.signed_at)

    @property
    def is_genuine(self) -> bool:
        return chain.genuine(self.signature, self.message)

    @classmethod
    def sign_head(cls) -> "Checkpoint | None":
        """Sign the chain's head, unless a checkpoint already covers it; return the new checkpoint."""
        with transaction.atomic():
            append_lock()
            head = AuditEvent.objects.head()
            last = cls.objects.latest_signed()
            if head.sequence == 0 or (last is not None and last.sequence >= head.sequence):
                return None
            checkpoint = cls(
                number=last.number + 1 if last else 1,
                sequence=head.sequence,
                hash=head.hash,
                # Stored to the microsecond by both databases, as signed.
                signed_at=timezone.now(),
            )
            checkpoint.signature = chain.sign(checkpoint.message)
            checkpoint.save(force_insert=True)
            return checkpoint


class Verification(models.Model):
    """One run of the chain's verification: incremental (new events only) or full, and what it found."""

    class Kind(models.TextChoices):
        INCREMENTAL = "incremental", _("New events")
        FULL = "full", _("Whole chain")

    class Status(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")

    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.WAITING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    first_sequence = models.PositiveBigIntegerField(_("from event"), default=1)
    last_sequence = models.PositiveBigIntegerField(_("through event"), null=True, blank=True)
    last_hash = models.CharField(_("hash of the last event"), max_length=64, blank=True)
    checkpoints_through = models.PositiveBigIntegerField(_("through checkpoint"), default=0)
    events_total = models.PositiveBigIntegerField(_("events to check"), default=0)
    events_done = models.PositiveBigIntegerField(_("events checked"), default=0)
    ok = models.BooleanField(_("intact"), null=True)
    bad_sequence = models.PositiveBigIntegerField(_("first bad event"), null=True, blank=True)
    problem = models.TextField(_("problem"), blank=True)
    warnings = models.JSONField(_("warnings"), default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("chain verification")
        verbose_name_plural = _("chain verifications")

    def __str__(self):
        return f"#{self.pk} {self.get_kind_display()} · {self.get_status_display()}"

    @property
    def is_finished(self) -> bool:
        return self.status == self.Status.DONE

    @property
    def percent(self) -> int:
        return 100 if not self.events_total else min(100, self.events_done * 100 // self.events_total)


class ExportJob(models.Model):
    """One download of the (filtered) audit log in one format, and the figures of its manifest."""

    class Format(models.TextChoices):
        CSV = "csv", _("CSV")
        XLSX = "xlsx", _("Excel (XLSX)")
        JSONL = "jsonl", _("JSON Lines")
        PDF = "pdf", _("PDF")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    # Streamed straight to the browser; the others are written to a file by a background task.
    STREAMED_FORMATS = (Format.CSV, Format.JSONL)

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("requested by")
    )
    format = models.CharField(_("format"), max_length=8, choices=Format.choices)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    language = models.CharField(_("language"), max_length=16, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    # The chain's head when the export began: the export never reaches past it.
    head_sequence = models.PositiveBigIntegerField(_("head sequence"), null=True, blank=True)
    head_hash = models.CharField(_("head hash"), max_length=64, blank=True)
    # The newest signed checkpoint at that moment, printed in the manifest as a witness outside the database.
    checkpoint = models.JSONField(_("checkpoint"), default=dict, blank=True)
    rows_total = models.PositiveBigIntegerField(_("rows to write"), null=True, blank=True)
    rows_done = models.PositiveBigIntegerField(_("rows written"), default=0)
    row_count = models.PositiveBigIntegerField(_("rows"), null=True, blank=True)
    first_sequence = models.PositiveBigIntegerField(_("first sequence"), null=True, blank=True)
    last_sequence = models.PositiveBigIntegerField(_("last sequence"), null=True, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    file = models.FileField(_("file"), upload_to="exports/", blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("audit log export")
        verbose_name_plural = _("audit log exports")

    def __str__(self):
        return f"#{self.pk} {self.get_format_display()} · {self.get_status_display()}"

    @property
    def is_streamed(self) -> bool:
        return self.format in self.STREAMED_FORMATS

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def download_name(self) -> str:
        return f"audit-log-{self.pk}.{self.format}"

    @property
    def head(self) -> ChainHead:
        return ChainHead(self.head_sequence, self.head_hash)

    def mark_done(self, *, row_count: int, first_sequence, last_sequence, sha256: str) -> None:
        """Record the figures of a finished export."""
        self.status = self.Status.DONE
        self.rows_done = self.row_count = row_count
        self.first_sequence, self.last_sequence, self.sha256 = first_sequence, last_sequence, sha256
        self.finished_at = timezone.now()
        self.save(
            update_fields=[
                "status", "rows_done", "row_count", "first_sequence", "last_sequence", "sha256", "finished_at"
            ]
        )  # fmt: skip

    def mark_failed(self, error: str) -> None:
        """Record why the export did not finish."""
        self.status, self.error, self.finished_at = self.Status.FAILED, error, timezone.now()
        self.save(update_fields=["status", "error", "finished_at"])
