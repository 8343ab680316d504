import hashlib
import json
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase
from guardian.shortcuts import get_objects_for_user

from accounts.models import Department, Membership

from .audit import HASHED_FIELDS, AuditEventManager, event_hash

Role = Membership.Role


def role_label(code: str) -> str:
    """Return the display name of a role code, in the active language (codes are what records keep)."""
    try:
        return Membership.Role(code).label
    except ValueError:
        return code


def content_hash(title: str, body: str) -> str:
    """Return the SHA-256 of a revision's content in a canonical form."""
    canonical = json.dumps({"title": title, "body": body}, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


class Channel(models.TextChoices):
    WEBSITE = "website", _("Website")
    WECHAT = "wechat", _("WeChat official account")
    WEIBO = "weibo", _("Weibo")
    QQ = "qq", _("QQ")
    NEWSLETTER = "newsletter", _("Newsletter")
    PRINT = "print", _("Print")
    OTHER = "other", _("Other")


class Kind(models.TextChoices):
    NEWS = "news", _("News")
    NOTICE = "notice", _("Notice")
    HEALTH_EDUCATION = "health_education", _("Health education")
    POLICY = "policy", _("Policy explainer")
    OTHER = "other", _("Other")


class WorkflowQuerySet(models.QuerySet):
    def for_document(self, document: "Document") -> "Workflow | None":
        """Return the most specific active workflow for a piece: department and kind first."""
        return (
            self.filter(is_active=True)
            .filter(Q(department=document.department_id) | Q(department__isnull=True))
            .filter(Q(kind=document.kind) | Q(kind=""))
            .order_by(F("department").asc(nulls_last=True), "-kind", "pk")
            .first()
        )


class Workflow(models.Model):
    """A definition of review stages; pieces keep the stages they were submitted with."""

    name = models.CharField(_("name"), max_length=100)
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        verbose_name=_("department"),
        help_text=_("Leave empty to use this workflow for every department."),
    )
    kind = models.CharField(
        _("kind"),
        max_length=32,
        choices=Kind.choices,
        blank=True,
        help_text=_("Leave empty to use this workflow for every kind of piece."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    objects = WorkflowQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("workflow")
        verbose_name_plural = _("workflows")

    def __str__(self):
        return self.name

    def stages_for(self, document: "Document") -> list["Stage"]:
        """Return the stages a piece must pass, in order (major-only stages when flagged major)."""
        stages = self.stages.order_by("position")
        if not document.is_major:
            stages = stages.filter(major_only=False)
        return list(stages)


class Stage(models.Model):
    REVIEWER_ROLES = [
        (role.value, role.label)
        for role in (
            Role.INFORMATION_OFFICER,
            Role.DEPARTMENT_HEAD,
            Role.PUBLICITY_LEADER,
            Role.PRINCIPAL_LEADER,
        )
    ]

    workflow = models.ForeignKey(
        Workflow, on_delete=models.CASCADE, related_name="stages", verbose_name=_("workflow")
    )
    position = models.PositiveSmallIntegerField(_("position"))
    name = models.CharField(
        _("name"), max_length=50, help_text=_("Also the meaning of the signature, e.g. 初审 (first review).")
    )
    role = models.CharField(_("acting role"), max_length=32, choices=REVIEWER_ROLES)
    major_only = models.BooleanField(
        _("only for major matters"), default=False, help_text=_("Skip this stage unless the piece is flagged major.")
    )

    class Meta:
        ordering = ["workflow", "position"]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        constraints = [
            models.UniqueConstraint(fields=["workflow", "position"], name="stage_position_unique"),
        ]

    def __str__(self):
        return self.name


class DocumentQuerySet(models.QuerySet):
    def visible_to(self, user) -> "DocumentQuerySet":
        """Return the pieces `user` may see: by object permission, or all for auditors."""
        return get_objects_for_user(user, "review.view_document", self, accept_global_perms=True)

    def awaiting(self, user) -> "DocumentQuerySet":
        """Return the pieces waiting for `user` to act, earliest due first."""
        acted_elsewhere = StageReview.objects.filter(document=OuterRef("pk"), decided_by=user).exclude(
            stage=OuterRef("current_stage")
        )
        return (
            get_objects_for_user(
                user, "review.review_document", self, with_superuser=False, accept_global_perms=False
            )
            .filter(state=Document.State.IN_REVIEW)
            .exclude(drafter=user)
            .exclude(Exists(acted_elsewhere))
            .order_by(F("due_date").asc(nulls_last=True), "submitted_at", "pk")
        )

    def with_related(self) -> "DocumentQuerySet":
        return self.select_related("department", "drafter", "current_stage")


class Document(ConcurrentTransitionMixin, models.Model):
    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        IN_REVIEW = "in_review", _("In review")
        CHANGES_REQUESTED = "changes_requested", _("Changes requested")
        APPROVED = "approved", _("Approved")
        PUBLISHED = "published", _("Published")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    EDITABLE_STATES = [State.DRAFT, State.CHANGES_REQUESTED]

    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"))
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="documents", verbose_name=_("department")
    )
    drafter = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="drafted_documents",
        verbose_name=_("drafter"),
    )
    channels = models.JSONField(_("channels"), default=list)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices, default=Kind.NEWS)
    source = models.CharField(
        _("source"),
        max_length=200,
        blank=True,
        help_text=_("Leave empty for original content; otherwise say where it is reposted from."),
    )
    is_major = models.BooleanField(
        _("major matter"), default=False, help_text=_("Major matters also need the principal leader's approval.")
    )
    due_date = models.DateField(_("due date"), null=True, blank=True)
    state = FSMField(_("state"), default=State.DRAFT, choices=State.choices, protected=True)
    workflow = models.ForeignKey(
        Workflow, on_delete=models.PROTECT, null=True, blank=True, editable=False, verbose_name=_("workflow")
    )
    current_stage = models.ForeignKey(
        Stage, on_delete=models.PROTECT, null=True, blank=True, editable=False, verbose_name=_("current stage")
    )
    current_revision = models.ForeignKey(
        "Revision", on_delete=models.PROTECT, null=True, editable=False, related_name="+"
    )
    round = models.PositiveIntegerField(_("review round"), default=0, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True, editable=False)

    objects = DocumentQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-pk"]
        verbose_name = _("piece")
        verbose_name_plural = _("pieces")
        permissions = [
            ("review_document", _("Can act at the piece's current review stage")),
            ("publish_document", _("Can mark the piece published")),
        ]
        indexes = [models.Index(fields=["state", "due_date"])]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("review:document", args=[self.pk])

    def get_channels_display(self) -> list[str]:
        labels = dict(Channel.choices)
        return [labels.get(code, code) for code in self.channels]

    @property
    def is_overdue(self) -> bool:
        return (
            self.due_date is not None
            and self.state == self.State.IN_REVIEW
            and self.due_date < timezone.localdate()
        )

    # Permission checks used by the transitions below (and so by the buttons shown).

    def review_refusal(self, user) -> str | None:
        """Return why `user` may not act at the current stage, or None when they may."""
        from .permissions import holds

        if user.pk == self.drafter_id:
            return _("You drafted this piece; someone else must review it.")
        if self.current_stage_id is None or not holds(user, "review_document", self):
            return _("You do not hold the role that acts at this stage.")
        other = self.stage_reviews.filter(decided_by=user).exclude(stage=self.current_stage_id).first()
        if other is not None:
            return _("You already acted at the %(stage)s stage of this piece; no one acts at two stages.") % {
                "stage": other.meaning
            }
        return None

    def _may_review(self, user) -> bool:
        return self.review_refusal(user) is None

    def _may_edit(self, user) -> bool:
        from .permissions import holds

        return user.pk == self.drafter_id and holds(user, "change_document", self)

    def _may_publish(self, user) -> bool:
        from .permissions import holds

        return holds(user, "publish_document", self)

    def _may_withdraw(self, user) -> bool:
        return user.pk == self.drafter_id

    # Transitions: change self, never save; services save, audit and grant.

    @transition(field=state, source=EDITABLE_STATES, target=State.IN_REVIEW, permission=_may_edit)
    def submit(self, *, workflow: Workflow, first_stage: Stage):
        self.workflow = workflow
        self.current_stage = first_stage
        self.round += 1
        self.submitted_at = timezone.now()

    @transition(
        field=state,
        source=State.IN_REVIEW,
        target=RETURN_VALUE(State.IN_REVIEW, State.APPROVED),
        permission=_may_review,
    )
    def approve(self, *, next_stage: Stage | None):
        self.current_stage = next_stage
        return self.State.IN_REVIEW if next_stage else self.State.APPROVED

    @transition(field=state, source=State.IN_REVIEW, target=State.CHANGES_REQUESTED, permission=_may_review)
    def request_changes(self):
        self.current_stage = None

    @transition(field=state, source=State.IN_REVIEW, target=State.REJECTED, permission=_may_review)
    def reject(self):
        self.current_stage = None

    @transition(
        field=state, source=[State.APPROVED, State.PUBLISHED], target=State.PUBLISHED, permission=_may_publish
    )
    def publish(self):
        pass

    @transition(
        field=state,
        source=[State.DRAFT, State.IN_REVIEW, State.CHANGES_REQUESTED, State.APPROVED],
        target=State.WITHDRAWN,
        permission=_may_withdraw,
    )
    def withdraw(self):
        self.current_stage = None


# Direct foreign keys make guardian's lookups plain joins instead of generic string matches.
class DocumentUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Document, on_delete=models.CASCADE)


class DocumentGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Document, on_delete=models.CASCADE)


class Revision(models.Model):
    """An immutable snapshot of a piece's content; signatures point at its hash."""

    document = models.ForeignKey(
        Document, on_delete=models.PROTECT, related_name="revisions", verbose_name=_("piece")
    )
    number = models.PositiveIntegerField(_("number"))
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"))
    content_hash = models.CharField(_("content hash"), max_length=64)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["document", "number"]
        verbose_name = _("revision")
        verbose_name_plural = _("revisions")
        constraints = [
            models.UniqueConstraint(fields=["document", "number"], name="revision_number_unique"),
        ]

    def __str__(self):
        return _("Revision %(number)s") % {"number": self.number}


class StageReview(models.Model):
    """One run of one stage for one piece: who decided, what, and on which content."""

    class Decision(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        CHANGES_REQUESTED = "changes_requested", _("Returned for changes")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Not reached")

    document = models.ForeignKey(
        Document, on_delete=models.PROTECT, related_name="stage_reviews", verbose_name=_("piece")
    )
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+", verbose_name=_("stage"))
    round = models.PositiveIntegerField(_("review round"))
    meaning = models.CharField(
        _("meaning of signature"), max_length=50, help_text=_("The stage name when it ran, e.g. 终审.")
    )
    decision = models.CharField(
        _("decision"), max_length=32, choices=Decision.choices, default=Decision.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    signer_name = models.CharField(_("printed name"), max_length=150, blank=True)
    signer_role = models.CharField(_("role"), max_length=100, blank=True, help_text=_("The role code, as signed."))
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    opinion = models.TextField(_("opinion"), blank=True)
    revision = models.ForeignKey(
        Revision, on_delete=models.PROTECT, related_name="+", verbose_name=_("revision")
    )
    revision_hash = models.CharField(_("content hash signed"), max_length=64)

    class Meta:
        ordering = ["document", "round", "stage__position"]
        verbose_name = _("stage review")
        verbose_name_plural = _("stage reviews")
        constraints = [
            models.UniqueConstraint(fields=["document", "round", "stage"], name="stage_review_once_per_round"),
        ]

    def __str__(self):
        return f"{self.document} · {self.meaning} · {self.get_decision_display()}"

    @property
    def signer_role_label(self) -> str:
        return role_label(self.signer_role)


class PublicationQuerySet(models.QuerySet):
    def published_between(self, since=None, until=None) -> "PublicationQuerySet":
        """Return the publications of a period: whole days in the local time zone, both ends included."""
        publications = self
        if since:
            publications = publications.filter(published_at__date__gte=since)
        if until:
            publications = publications.filter(published_at__date__lte=until)
        return publications

    def for_register(self) -> "PublicationQuerySet":
        """Return the publications with what the register shows of each, in a fixed number of queries."""
        approvals = StageReview.objects.filter(decision=StageReview.Decision.APPROVED).order_by(
            "round", "stage__position"
        )
        return self.select_related("document__department", "document__drafter", "publisher").prefetch_related(
            models.Prefetch("document__stage_reviews", queryset=approvals, to_attr="approvals")
        )


def attachment_path(attachment: "Attachment", filename: str) -> str:
    """Store uploads under generated names: the user's file name is kept only as data."""
    return f"attachments/{uuid.uuid4().hex}{attachment.extension}"


class Attachment(models.Model):
    """A file that goes with a piece (a photo, a Word draft); served only through a permission-checked view."""

    document = models.ForeignKey(
        Document, on_delete=models.PROTECT, related_name="attachments", verbose_name=_("piece")
    )
    file = models.FileField(_("file"), upload_to=attachment_path)
    original_name = models.CharField(_("file name"), max_length=200)
    extension = models.CharField(_("extension"), max_length=10)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveIntegerField(_("size"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("uploaded by")
    )
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        ordering = ["document", "uploaded_at"]
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self):
        return self.original_name


class Publication(models.Model):
    """Where and when an approved piece went out, and who put it there."""

    document = models.ForeignKey(
        Document, on_delete=models.PROTECT, related_name="publications", verbose_name=_("piece")
    )
    channel = models.CharField(_("channel"), max_length=32, choices=Channel.choices)
    url = models.URLField(_("link"), blank=True)
    published_at = models.DateTimeField(_("published at"))
    publisher = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("publisher")
    )
    revision = models.ForeignKey(Revision, on_delete=models.PROTECT, related_name="+", verbose_name=_("revision"))
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    objects = PublicationQuerySet.as_manager()

    class Meta:
        ordering = ["-published_at"]
        verbose_name = _("publication")
        verbose_name_plural = _("publications")

    def __str__(self):
        return f"{self.document} · {self.get_channel_display()}"

    def signatures(self) -> list[StageReview]:
        """Return the approvals of the round that was published, in stage order (prefetched by for_register)."""
        approvals = getattr(self.document, "approvals", None)
        if approvals is None:
            approvals = self.document.stage_reviews.filter(decision=StageReview.Decision.APPROVED).order_by(
                "round", "stage__position"
            )
        # Only an approved piece is published, and an approved piece starts no new round.
        return [
            review
            for review in approvals
            if review.round == self.document.round and review.revision_id == self.revision_id
        ]


class AuditEvent(models.Model):
    """An append-only, hash-chained record of one action. Never updated, never deleted."""

    class Action(models.TextChoices):
        CREATED = "created", _("Created")
        EDITED = "edited", _("Edited")
        SUBMITTED = "submitted", _("Submitted")
        APPROVED = "approved", _("Approved")
        CHANGES_REQUESTED = "changes_requested", _("Returned for changes")
        REJECTED = "rejected", _("Rejected")
        PUBLISHED = "published", _("Published")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        REFUSED = "refused", _("Refused")
        LOGIN = "login", _("Logged in")
        LOGOUT = "logout", _("Logged out")
        LOGIN_FAILED = "login_failed", _("Failed login")
        MEMBERSHIP_ADDED = "membership_added", _("Role granted")
        MEMBERSHIP_REMOVED = "membership_removed", _("Role removed")
        DOWNLOADED = "downloaded", _("Downloaded")

    sequence = models.PositiveBigIntegerField(_("sequence"), unique=True, editable=False)
    created_at = models.DateTimeField(_("time"), editable=False, db_index=True)
    # The links survive deletion of what they point at (no constraint, no cascade),
    # and the snapshots keep the names as they were.
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
    action = models.CharField(_("action"), max_length=32, choices=Action.choices, db_index=True)
    document = models.ForeignKey(
        Document,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="audit_events",
        verbose_name=_("piece"),
    )
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    revision_hash = models.CharField(_("content hash"), max_length=64, blank=True)
    from_state = models.CharField(_("from state"), max_length=32, blank=True)
    to_state = models.CharField(_("to state"), max_length=32, blank=True)
    stage = models.CharField(_("stage"), max_length=50, blank=True)
    opinion = models.TextField(_("opinion or reason"), blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64, unique=True)

    objects = AuditEventManager()

    class Meta:
        ordering = ["sequence"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        default_permissions = ("view",)

    def __str__(self):
        return f"#{self.sequence} {self.get_action_display()}"

    @property
    def actor_role_label(self) -> str:
        return role_label(self.actor_role)

    def compute_hash(self) -> str:
        """Return SHA-256 over the previous event's hash and this event's canonical form."""
        return event_hash({name: getattr(self, name) for name in HASHED_FIELDS})


class AuditCheckpoint(models.Model):
    """The head of the audit chain at the end of a day, signed with a key kept outside the database."""

    day = models.DateField(_("day"), unique=True)
    sequence = models.PositiveBigIntegerField(_("sequence"))
    hash = models.CharField(_("hash"), max_length=64)
    signature = models.CharField(_("signature"), max_length=64)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["day"]
        verbose_name = _("audit checkpoint")
        verbose_name_plural = _("audit checkpoints")
        default_permissions = ("view",)

    def __str__(self):
        return f"{self.day} #{self.sequence}"


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
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.PENDING)
    # The chain's head when the export began: the export never reaches past it.
    head_sequence = models.PositiveBigIntegerField(_("head sequence"), null=True, blank=True)
    head_hash = models.CharField(_("head hash"), max_length=64, blank=True)
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

    def get_absolute_url(self):
        return reverse("review:audit_export", args=[self.pk])

    @property
    def is_streamed(self) -> bool:
        return self.format in self.STREAMED_FORMATS

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def download_name(self) -> str:
        return f"audit-log-{self.pk}.{self.format}"

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

    def manifest(self) -> dict:
        """Return the manifest that vouches for this export's file."""
        from .exports import build_manifest

        return build_manifest(
            format=self.format,
            filters=self.filters,
            row_count=self.row_count,
            first_sequence=self.first_sequence,
            last_sequence=self.last_sequence,
            head_sequence=self.head_sequence,
            head_hash=self.head_hash,
            sha256=self.sha256,
            file=self.download_name,
            generated_at=self.finished_at,
            export_id=self.pk,
            status=self.status,
        )


def webhook_secret() -> str:
    """Return a new random secret for signing a webhook's deliveries."""
    return secrets.token_hex(32)


class Webhook(models.Model):
    """An address told of events on pieces; each delivery is signed with the webhook's secret."""

    class Event(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        APPROVED = "approved", _("Approved at a stage")
        RETURNED = "returned", _("Returned for changes")
        REJECTED = "rejected", _("Rejected")
        PUBLISHED = "published", _("Published")

    url = models.URLField(_("URL"), max_length=500, help_text=_("Deliveries are POSTed here as JSON."))
    events = models.JSONField(_("events"), default=list, help_text=_("The events this address is told of."))
    secret = models.CharField(
        _("secret"),
        max_length=128,
        default=webhook_secret,
        help_text=_("Signs every delivery (HMAC-SHA256); give it to the receiver so it can check the signature."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["url", "pk"]
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")

    def __str__(self):
        return self.url


class WebhookDelivery(models.Model):
    """One attempt to deliver one event to one webhook, and how the receiver answered."""

    webhook = models.ForeignKey(
        Webhook, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("webhook")
    )
    delivery = models.UUIDField(
        _("delivery id"),
        db_index=True,
        help_text=_("The same for every attempt at one event, so receivers can ignore repeats."),
    )
    event = models.CharField(_("event"), max_length=32, choices=Webhook.Event.choices)
    payload = models.JSONField(_("payload"))
    attempt = models.PositiveSmallIntegerField(_("attempt"))
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")

    def __str__(self):
        return f"{self.webhook} · {self.get_event_display()} · #{self.attempt}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
