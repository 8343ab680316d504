from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Department
from accounts.services import group_name

from .choices import REVIEWER_ROLES, Kind


class WorkflowQuerySet(models.QuerySet):
    def for_document(self, document) -> "Workflow | None":
        """Return the most specific active workflow for a piece: department and kind first."""
        return (
            self.filter(is_active=True)
            .filter(Q(department=document.department_id) | Q(department__isnull=True))
            .filter(Q(kind=document.kind) | Q(kind=""))
            .order_by(F("department").asc(nulls_last=True), "-kind", "pk")
            .first()
        )


class Workflow(models.Model):
    """A definition of review stages. A piece copies it into its own route when first submitted."""

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


class Part(models.TextChoices):
    """The two parts of every stage (三审三校): the review of the substance and the proofread of the copy."""

    REVIEW = "review", _("Review")
    PROOFREAD = "proofread", _("Proofread")


class Stage(models.Model):
    """One stage of a workflow's definition: changing it changes only pieces submitted afterwards."""

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="stages", verbose_name=_("workflow"))
    position = models.PositiveSmallIntegerField(_("position"))
    name = models.CharField(
        _("name"), max_length=50, help_text=_("Also the meaning of the signature, e.g. 初审 (first review).")
    )
    proofread_name = models.CharField(
        _("proofreading name"),
        max_length=50,
        blank=True,
        help_text=_("The meaning of the same signature for the proofread, e.g. 初校 (first proofread)."),
    )
    role = models.CharField(
        _("acting role"), max_length=32, choices=[(role.value, role.label) for role in REVIEWER_ROLES]
    )
    quorum = models.PositiveSmallIntegerField(
        _("signatures needed"),
        default=1,
        help_text=_(
            "How many different people holding the role must approve, each with their own signature (e.g. 2 of "
            "the 3 leaders); 0: everyone who holds it."
        ),
    )
    major_only = models.BooleanField(
        _("only for major matters"), default=False, help_text=_("Skip this stage unless the piece is flagged major.")
    )
    time_limit = models.PositiveSmallIntegerField(
        _("time limit (working hours)"),
        null=True,
        blank=True,
        help_text=_("How long the stage may take, in working hours (see the working days in the settings)."),
    )
    urgent_time_limit = models.PositiveSmallIntegerField(
        _("time limit for urgent pieces (hours)"),
        null=True,
        blank=True,
        help_text=_("For a piece flagged urgent: clock hours, nights and weekends included."),
    )
    escalate_to = models.CharField(
        _("escalate to"),
        max_length=32,
        blank=True,
        choices=[(role.value, role.label) for role in REVIEWER_ROLES],
        help_text=_("Who is told when the stage is overdue; leave empty to tell only its reviewers."),
    )
    only_kinds = models.JSONField(
        _("only for these kinds"),
        default=list,
        blank=True,
        help_text=_("The kinds of piece that pass this stage; none ticked: every kind."),
    )
    only_channels = models.JSONField(
        _("only for these channels"),
        default=list,
        blank=True,
        help_text=_("A piece for any of these channels passes this stage; none ticked: every piece."),
    )
    only_departments = models.JSONField(
        _("only for these departments"),
        default=list,
        blank=True,
        help_text=_("The departments whose pieces pass this stage; none ticked: every department."),
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


class ChecklistItem(models.Model):
    """A question the reviewer at a stage answers before signing, for the review or the proofread."""

    stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="checklist", verbose_name=_("stage"))
    part = models.CharField(_("part"), max_length=16, choices=Part.choices)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    text = models.CharField(_("question"), max_length=300)

    class Meta:
        ordering = ["stage", "position", "pk"]
        verbose_name = _("checklist item")
        verbose_name_plural = _("checklist items")

    def __str__(self):
        return self.text


class RouteStage(models.Model):
    """A stage of one piece's own route, copied from its workflow when the piece was first submitted.

    From then on this copy alone decides who acts, in what order, under which name (the meaning of the
    signature) and with which role, so editing the workflow never changes a piece in flight.
    """

    document = models.ForeignKey(
        "review.Document", on_delete=models.CASCADE, related_name="route", verbose_name=_("piece")
    )
    position = models.PositiveSmallIntegerField(_("position"))
    name = models.CharField(_("name"), max_length=50)
    proofread_name = models.CharField(_("proofreading name"), max_length=50, blank=True)
    role = models.CharField(
        _("acting role"), max_length=32, choices=[(role.value, role.label) for role in REVIEWER_ROLES]
    )
    quorum = models.PositiveSmallIntegerField(_("signatures needed"), default=1)
    major_only = models.BooleanField(_("only for major matters"), default=False)
    time_limit = models.PositiveSmallIntegerField(_("time limit (working hours)"), null=True, blank=True)
    urgent_time_limit = models.PositiveSmallIntegerField(
        _("time limit for urgent pieces (hours)"), null=True, blank=True
    )
    escalate_to = models.CharField(_("escalate to"), max_length=32, blank=True)
    only_kinds = models.JSONField(_("only for these kinds"), default=list, blank=True)
    only_channels = models.JSONField(_("only for these channels"), default=list, blank=True)
    only_departments = models.JSONField(_("only for these departments"), default=list, blank=True)

    # What a piece copies of each stage of its workflow when first submitted.
    COPIED = ("position", "name", "proofread_name", "role", "quorum", "major_only", "time_limit", "urgent_time_limit",
              "escalate_to", "only_kinds", "only_channels", "only_departments")  # fmt: skip

    class Meta:
        ordering = ["document", "position"]
        verbose_name = _("stage of a piece's route")
        verbose_name_plural = _("stages of pieces' routes")
        constraints = [
            models.UniqueConstraint(fields=["document", "position"], name="route_stage_position_unique"),
        ]

    def __str__(self):
        return self.name

    @classmethod
    def copy(cls, document, workflow: Workflow) -> list["RouteStage"]:
        """Copy the workflow's stages and their checklists, as they are now, into the piece's own route."""
        definitions = list(workflow.stages.order_by("position").prefetch_related("checklist"))
        route = cls.objects.bulk_create(
            cls(document=document, **{name: getattr(stage, name) for name in cls.COPIED}) for stage in definitions
        )
        RouteChecklistItem.objects.bulk_create(
            RouteChecklistItem(stage=copy, part=item.part, position=item.position, text=item.text)
            for stage, copy in zip(definitions, route, strict=True)
            for item in stage.checklist.all()
        )
        return route

    def applies_to(self, document) -> bool:
        """Whether the piece passes this stage: a major matter's, its kind's, its department's, one of its
        channels' stage."""
        if self.major_only and not document.is_major:
            return False
        if self.only_kinds and document.kind not in self.only_kinds:
            return False
        if self.only_departments and document.department_id not in self.only_departments:
            return False
        return not self.only_channels or bool(set(document.channels) & set(self.only_channels))

    def signatures_needed(self, document) -> int:
        """Return how many different people must approve at this stage: its quorum, or (quorum 0) everyone who
        holds its role for the piece and may sign it (not its drafter, nobody who signed at another stage); never
        more than may sign, so that a stage cannot wait for ever."""
        if self.quorum == 1:
            return 1  # min(1, may_sign) below is 1 whoever may sign: nothing to count
        holders = (
            get_user_model()
            .objects.filter(is_active=True, groups__name=group_name(self.role, document.department_id))
            .exclude(pk=document.drafter_id)
        )
        signed_elsewhere = document.stage_reviews.exclude(stage=self).filter(decided_by__isnull=False)
        holders = holders.exclude(pk__in=signed_elsewhere.values("decided_by")).exclude(
            pk__in=signed_elsewhere.filter(on_behalf_of__isnull=False).values("on_behalf_of")
        )
        may_sign = max(1, holders.distinct().count())
        return min(self.quorum, may_sign) if self.quorum else may_sign

    @property
    def meanings(self) -> str:
        """Return what a signature at this stage means, both parts: e.g. 初审/初校."""
        return f"{self.name}/{self.proofread_name}" if self.proofread_name else self.name


class RouteChecklistItem(models.Model):
    """A checklist question of a piece's own route, copied with its stage."""

    stage = models.ForeignKey(RouteStage, on_delete=models.CASCADE, related_name="checklist", verbose_name=_("stage"))
    part = models.CharField(_("part"), max_length=16, choices=Part.choices)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    text = models.CharField(_("question"), max_length=300)

    class Meta:
        ordering = ["stage", "position", "pk"]
        verbose_name = _("checklist item of a piece's route")
        verbose_name_plural = _("checklist items of pieces' routes")

    def __str__(self):
        return self.text
