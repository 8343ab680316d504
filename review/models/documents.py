import datetime
import hashlib
import json
import secrets
import uuid

from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import models
from django.db.models import Exists, F, OuterRef, Prefetch, Q, Value, prefetch_related_objects
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from accounts.models import Delegation, Department, User
from accounts.services import delegators, group_name
from audit import labels

from ..reasons import reason
from .choices import Channel, Kind, role_label
from .workflow import RouteStage, Workflow


def content_hash(title: str, body: str) -> str:
    """Return the SHA-256 of a revision's content in a canonical form."""
    canonical = json.dumps({"title": title, "body": body}, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def new_sheet_token() -> str:
    """Return the unguessable part of a piece's sign-off sheet codes (80 random bits, base 32)."""
    return secrets.token_hex(10)


# How long a piece published on some of its channels stays in the publishers' queue for the others.
RECENTLY_PUBLISHED = datetime.timedelta(days=30)


def signed_by(people) -> Q:
    """Return the condition on stage reviews signed by a person (or any of a subquery's people), themselves or by
    a deputy on their behalf: four eyes counts both."""
    lookup = "in" if isinstance(people, models.QuerySet) else "exact"
    return Q(**{f"decided_by__{lookup}": people}) | Q(**{f"on_behalf_of__{lookup}": people})


def permission_pk(codename: str):
    """Return the id of the piece permission `codename`, as a subquery."""
    return Permission.objects.filter(content_type__app_label="review", codename=codename).values("pk")


def groups_of(user):
    """Return the ids of `user`'s groups (their roles), as a subquery."""
    return User.groups.through.objects.filter(user=user).values("group")


def lent_to(user):
    """Return the ids of the role groups lent to `user` by delegations in force, as a subquery."""
    return Delegation.objects.in_force().filter(deputy=user).values("group")


class DocumentQuerySet(models.QuerySet):
    def visible_to(self, user) -> "DocumentQuerySet":
        """Return the pieces `user` may see: by object permission, or all for auditors; and, for a deputy, what
        the roles lent to them see."""
        if not user.is_authenticated:
            return self.none()  # guardian's anonymous user holds nothing here
        if user.is_superuser:
            return self.all()
        # The permission to see every piece (the auditors'), asked in the same query.
        everything = Permission.objects.filter(
            Q(user=user) | Q(group__user=user), content_type__app_label="review", codename="view_document"
        )
        held = self._held(user, "view_document") | self._held_lent(user, "view_document")
        return self.filter(Q(Exists(everything)) | held) if user.is_active else self.filter(held)

    # The object-permission filters look each piece's grants up by (piece, permission) on an index (see Meta of
    # DocumentGroupObjectPermission): the cost follows the pieces read, not every grant of the user's groups.

    @staticmethod
    def _held(user, codename: str) -> Q:
        """Return the condition on pieces on which `codename` is granted to `user` or to one of their groups."""
        permission = permission_pk(codename)
        to_user = DocumentUserObjectPermission.objects.filter(
            content_object=OuterRef("pk"), permission__in=permission, user=user
        )
        to_group = DocumentGroupObjectPermission.objects.filter(
            content_object=OuterRef("pk"), permission__in=permission, group__in=groups_of(user)
        )
        return Exists(to_user) | Exists(to_group)

    @staticmethod
    def _granted_ids(user, codename: str, *, lent: bool = False) -> Q:
        """Return the condition of _held (`lent`: of _held_lent) as the set of pieces read from the grants: the
        better shape where they pick a small part of the pieces (what waits at the user's stage)."""
        permission = permission_pk(codename)
        if lent:
            to_lent = DocumentGroupObjectPermission.objects.filter(permission__in=permission, group__in=lent_to(user))
            return Q(pk__in=to_lent.values("content_object"))
        to_user = DocumentUserObjectPermission.objects.filter(permission__in=permission, user=user)
        to_group = DocumentGroupObjectPermission.objects.filter(permission__in=permission, group__in=groups_of(user))
        return Q(pk__in=to_user.values("content_object")) | Q(pk__in=to_group.values("content_object"))

    @staticmethod
    def _held_lent(user, codename: str) -> Q:
        """Return the condition on pieces on which a role lent to `user` (a delegation in force) holds `codename`."""
        to_lent = DocumentGroupObjectPermission.objects.filter(
            content_object=OuterRef("pk"), permission__in=permission_pk(codename), group__in=lent_to(user)
        )
        return Q(Exists(to_lent))

    def awaiting(self, user) -> "DocumentQuerySet":
        """Return the pieces waiting for `user` to act (themselves, or as a deputy), earliest due first."""
        signed = StageReview.objects.filter(signed_by(user), document=OuterRef("pk"))
        acted_elsewhere = signed.exclude(stage=OuterRef("current_stage"))
        signed_here = signed.filter(stage=OuterRef("current_stage"), round=OuterRef("round"))  # a co-signature
        # Driven by the user's grants (an index range of the pieces at their stage), not a probe of every piece.
        own = self._granted_ids(user, "review_document")
        # As a deputy: four eyes holds for the delegators too (what they drafted, where they signed).
        lenders = Delegation.objects.in_force().filter(deputy=user).values("membership__user")
        lenders_signed = StageReview.objects.filter(signed_by(lenders), document=OuterRef("pk"))
        lender_barred = (
            Q(drafter__in=lenders)
            | Exists(lenders_signed.exclude(stage=OuterRef("current_stage")))
            | Exists(lenders_signed.filter(stage=OuterRef("current_stage"), round=OuterRef("round")))
        )
        # A subquery of its own, driven by the lent grants (mostly none): the planners then leave it out cheaply.
        lent = Q(
            pk__in=Document.objects.filter(self._granted_ids(user, "review_document", lent=True))
            .exclude(lender_barred)
            .values("pk")
        )
        return (
            self.filter(state=Document.State.IN_REVIEW)
            .filter(own | lent)
            .exclude(drafter=user)
            .exclude(Exists(acted_elsewhere))
            .exclude(Exists(signed_here))
            .order_by(F("stage_due_at").asc(nulls_last=True), F("due_date").asc(nulls_last=True), "submitted_at", "pk")
        )

    def matching(
        self, user, *, q="", state="", department=None, channel="", since=None, until=None, mine=False, overdue=False
    ) -> "DocumentQuerySet":
        """Return the pieces matching the pieces list's search and filters (the web page's and the API's)."""
        documents = self
        if q:
            documents = documents.filter(Q(title__icontains=q) | Q(body__icontains=q))
        if state:
            documents = documents.filter(state=state)
        if department:
            documents = documents.filter(department=department)
        if channel:
            # The channels are a JSON list; its text holds each code in quotes, on SQLite and PostgreSQL alike.
            documents = documents.filter(channels__icontains=f'"{channel}"')
        if since:
            documents = documents.filter(created_at__date__gte=since)
        if until:
            documents = documents.filter(created_at__date__lte=until)
        if mine:
            documents = documents.filter(drafter=user)
        if overdue:
            late = Q(stage_due_at__lte=timezone.now()) | Q(due_date__lt=timezone.localdate())
            documents = documents.filter(late, state=Document.State.IN_REVIEW)
        return documents

    def to_publish(self, user) -> "DocumentQuerySet":
        """Return the approved pieces `user` may publish (and those published on some channels, for the rest)."""
        return self.filter(self._held(user, "publish_document")).filter(
            state__in=[Document.State.APPROVED, Document.State.PUBLISHED]
        )

    def publishing_queue(self, user) -> dict[str, list["Document"]]:
        """Return, for each channel, the pieces `user` may publish that wait to go out there: approved pieces, and
        those published in the last RECENTLY_PUBLISHED on some of their channels only (channels with none left out)."""
        recent = Q(state=Document.State.PUBLISHED, publications__published_at__gte=timezone.now() - RECENTLY_PUBLISHED)
        documents = (
            self.to_publish(user)
            .filter(Q(state=Document.State.APPROVED) | recent)
            .distinct()
            .with_related()
            .prefetch_related("publications")
            .order_by("pk")
        )
        waiting = {code: [] for code in Channel.values}
        for document in documents:
            published = {publication.channel for publication in document.publications.all()}
            for channel in document.channels:
                if channel in waiting and channel not in published:
                    waiting[channel].append(document)
        return {channel: pieces for channel, pieces in waiting.items() if pieces}

    def with_related(self) -> "DocumentQuerySet":
        return self.select_related("department", "drafter", "current_stage")


class Document(ConcurrentTransitionMixin, models.Model):
    """A piece: written by a drafter, reviewed stage by stage along its route, then published."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        IN_REVIEW = "in_review", _("In review")
        RETURNED = "returned", _("Returned for changes")
        APPROVED = "approved", _("Approved")
        PUBLISHED = "published", _("Published")
        REJECTED = "rejected", _("Rejected")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    EDITABLE_STATES = [State.DRAFT, State.RETURNED]
    # The drafter may still change a piece in these states; the change restarts its review at the first stage.
    RESTARTABLE_STATES = [State.IN_REVIEW, State.APPROVED]
    # The states in which a piece is still on its way: its object permissions are checked against its route.
    OPEN_STATES = [State.DRAFT, State.IN_REVIEW, State.RETURNED, State.APPROVED]

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
    summary = models.CharField(
        _("summary"), max_length=500, blank=True, help_text=_("The digest shown with the piece, e.g. on WeChat.")
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
    is_urgent = models.BooleanField(
        _("urgent"), default=False, help_text=_("Urgent pieces (e.g. statements) run on the stages' shorter limits.")
    )
    state = FSMField(_("state"), default=State.DRAFT, choices=State.choices, protected=True)
    # The definition the route was copied from (kept for reference; the route does not depend on it).
    workflow = models.ForeignKey(
        Workflow, on_delete=models.SET_NULL, null=True, blank=True, editable=False, verbose_name=_("workflow")
    )
    current_stage = models.ForeignKey(
        RouteStage,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("current stage"),
    )
    current_revision = models.ForeignKey(
        "Revision", on_delete=models.PROTECT, null=True, editable=False, related_name="+"
    )
    round = models.PositiveIntegerField(_("review round"), default=0, editable=False)
    submission_note = models.TextField(
        _("what changed since the return"), blank=True, help_text=_("Written by the drafter when resubmitting.")
    )
    sheet_token = models.CharField(
        _("sign-off sheet token"), max_length=32, unique=True, default=new_sheet_token, editable=False
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True, editable=False)
    # When the stage the piece waits at is due (its stage review's due_at, kept here for the queue's order).
    stage_due_at = models.DateTimeField(_("stage due"), null=True, blank=True, editable=False)

    objects = DocumentQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-pk"]
        verbose_name = _("piece")
        verbose_name_plural = _("pieces")
        permissions = [
            ("review_document", _("Can act at the piece's current review stage")),
            ("publish_document", _("Can mark the piece published")),
        ]
        indexes = [
            models.Index(fields=["state", "due_date"]),
            models.Index(fields=["state", "stage_due_at"]),
            # The pieces list's order: its first page is read along it, not sorted out of every visible piece.
            models.Index(fields=["-updated_at", "-id"], name="document_recent_first"),
        ]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return reverse("review:document", args=[self.pk])

    def get_channels_display(self) -> list[str]:
        labels = dict(Channel.choices)
        return [labels.get(code, code) for code in self.channels]

    @property
    def restarts_on_edit(self) -> bool:
        """Whether a change by the drafter now sends the piece back to the first stage of review."""
        return self.state in self.RESTARTABLE_STATES

    @property
    def is_overdue(self) -> bool:
        """In review past its stage's time limit, or past the date it is wanted by."""
        if self.state != self.State.IN_REVIEW:
            return False
        stage_late = self.stage_due_at is not None and self.stage_due_at <= timezone.now()
        return stage_late or (self.due_date is not None and self.due_date < timezone.localdate())

    @property
    def is_due_soon(self) -> bool:
        """In review, its stage due within the reminder's notice and not yet overdue."""
        if self.state != self.State.IN_REVIEW or self.stage_due_at is None or self.is_overdue:
            return False
        return self.stage_due_at <= timezone.now() + settings.DEADLINE_REMINDER

    def granted(self, user, codename: str) -> bool:
        """Return whether `user` holds an object permission on this piece, themselves or through a role group.

        Superusers get no bypass here: four eyes has no administrator override.
        """
        if not (user.is_authenticated and user.is_active):
            return False
        return any(held == codename for held, _lent in self._holdings(user))

    def _holdings(self, user) -> set[tuple[str, bool]]:
        """Return the object permissions `user` holds on this piece, each as (codename, lent): given to them or to
        their role groups (lent False), or to a role lent to them by a delegation in force (lent True). One query,
        once per instance and user."""

        def read() -> set[tuple[str, bool]]:
            to_user = DocumentUserObjectPermission.objects.filter(content_object=self, user=user)
            to_groups = DocumentGroupObjectPermission.objects.filter(content_object=self, group__in=groups_of(user))
            to_lent = DocumentGroupObjectPermission.objects.filter(content_object=self, group__in=lent_to(user))
            rows = to_user.values_list("permission__codename", Value(False)).union(
                to_groups.values_list("permission__codename", Value(False)),
                to_lent.values_list("permission__codename", Value(True)),
            )
            return {(codename, bool(lent)) for codename, lent in rows}

        return self._remembered(("holdings", user.pk), read)

    def remember_reads(self) -> "Document":
        """Keep what the checks below read (the stage reviews, what a user holds on the piece) on this instance,
        and return it: for one page, or one action under the piece's lock. Elsewhere each check reads afresh, as
        an instance kept across changes made through another must not answer from what it read before."""
        self.__dict__["_remembered_reads"] = {}
        return self

    def _remembered(self, key: tuple, compute):
        """Return what `compute` returns: once per instance that remembers its reads, while the piece stays where
        it is (its state, stage and round are part of the key); `forget_reads()` drops it after a change."""
        remembered = self.__dict__.get("_remembered_reads")
        if remembered is None:
            return compute()
        key = (*key, self.state, self.current_stage_id, self.round)
        if key not in remembered:
            remembered[key] = compute()
        return remembered[key]

    def forget_reads(self) -> None:
        """Forget the stage reviews and permission checks this instance has read (the services call it after
        changing them), so that the next check reads them again."""
        if "_remembered_reads" in self.__dict__:
            self.__dict__["_remembered_reads"] = {}
        getattr(self, "_prefetched_objects_cache", {}).pop("stage_reviews", None)

    def read_reviews(self) -> list["StageReview"]:
        """Return the piece's stage reviews (with their stages) in their order: a prefetch of `stage_reviews` (the
        piece's page makes one) serves; an instance that remembers its reads reads them once."""
        if "stage_reviews" in getattr(self, "_prefetched_objects_cache", {}):
            return list(self.stage_reviews.all())
        if "_remembered_reads" in self.__dict__:
            prefetch_related_objects([self], Prefetch("stage_reviews", StageReview.objects.select_related("stage")))
            return list(self.stage_reviews.all())
        return list(self.stage_reviews.select_related("stage"))

    def waiting_review(self) -> "StageReview | None":
        """Return the stage review the piece waits on: its current stage's own (not a co-signature) this round."""
        return next(
            (
                review
                for review in self.read_reviews()
                if review.round == self.round and review.stage_id == self.current_stage_id and not review.cosignature
            ),
            None,
        )

    def acting_for(self, user):
        """Return whom `user` acts for at the current stage: None when they hold its role themselves, else the
        delegator whose role they hold as a deputy now (of several, the first four eyes lets them act for)."""
        if self.current_stage_id is None:
            return None
        return self._remembered(("acting_for", user.pk), lambda: self._principal(user))

    def _principal(self, user):
        # Only the current stage's role group holds review_document on the piece (permissions.expected_grants):
        # holding it themselves is holding that role.
        if ("review_document", False) in self._holdings(user):
            return None
        group = group_name(self.current_stage.role, self.department_id)
        lenders = delegators(user, [group])
        for lender in lenders:
            if lender.pk != self.drafter_id and self._four_eyes_refusal(lender) is None:
                return lender
        return lenders[0] if lenders else None

    def signatures_at_stage(self) -> tuple[int, int]:
        """Return the signatures given so far and needed at the current stage (its quorum; one at most stages)."""
        signed = sum(
            1
            for review in self.read_reviews()
            if review.round == self.round and review.stage_id == self.current_stage_id and review.cosignature
        )
        return signed, self.current_stage.signatures_needed(self)

    def applicable_route(self) -> list[RouteStage]:
        """Return the stages of the piece's route that it must pass this round, in order."""
        return [stage for stage in self.route.order_by("position") if stage.applies_to(self)]

    # Who may do what now: used by the transitions below, and so by the buttons shown and the services.

    def review_refusal(self, user) -> str | None:
        """Return why `user` may not act at the current stage, or None when they may.

        A deputy acting for a delegator is held to four eyes for both: neither may have drafted the piece, signed
        at another stage, or signed at this one already.
        """
        if user.pk == self.drafter_id:
            return _("You drafted this piece; someone else must review it.")
        if self.current_stage_id is None or not self.granted(user, "review_document"):
            return _("You do not hold the role that acts at this stage.")
        if refusal := self._four_eyes_refusal(user):
            return refusal
        principal = self.acting_for(user)
        if principal is None:
            return None
        if principal.pk == self.drafter_id:
            return reason(
                _("You act for %(name)s, who drafted this piece; someone else must review it."),
                name=principal.printed_name,
            )
        return self._four_eyes_refusal(principal, acting_for=True)

    def _four_eyes_refusal(self, person, *, acting_for: bool = False) -> str | None:
        """Return why `person` may not sign at the current stage under four eyes, or None (`acting_for`: the
        reason is told to their deputy)."""
        signed = [
            review for review in self.read_reviews() if person.pk in (review.decided_by_id, review.on_behalf_of_id)
        ]
        other = next((review for review in signed if review.stage_id != self.current_stage_id), None)
        name = person.printed_name
        if other is not None:
            if acting_for:
                return reason(
                    _(
                        "You act for %(name)s, who already acted at the %(stage)s stage of this piece; no one acts "
                        "at two stages."
                    ),
                    name=name,
                    stage=_(other.meaning),
                )
            return reason(
                _("You already acted at the %(stage)s stage of this piece; no one acts at two stages."),
                stage=_(other.meaning),
            )
        if any(review.round == self.round and review.stage_id == self.current_stage_id for review in signed):
            if acting_for:
                return reason(_("You act for %(name)s, who has signed at this stage already."), name=name)
            return _("You have signed at this stage already; it needs the signatures of others holding the role.")
        return None

    def _may_review(self, user) -> bool:
        return self.review_refusal(user) is None

    def _may_edit(self, user) -> bool:
        return user.pk == self.drafter_id and self.granted(user, "change_document")

    def _may_publish(self, user) -> bool:
        return self.granted(user, "publish_document")

    def _may_withdraw(self, user) -> bool:
        return user.pk == self.drafter_id

    # Transitions: change self, never save; services save, audit and grant.

    def _start_round(self, first_stage: RouteStage):
        self.current_stage = first_stage
        self.round += 1
        self.submitted_at = timezone.now()

    @transition(field=state, source=EDITABLE_STATES, target=State.IN_REVIEW, permission=_may_edit)
    def submit(self, *, first_stage: RouteStage):
        self._start_round(first_stage)

    @transition(field=state, source=RESTARTABLE_STATES, target=State.IN_REVIEW, permission=_may_edit)
    def restart(self, *, first_stage: RouteStage):
        """The drafter changed the piece after submitting it: a new round starts at the first stage."""
        self._start_round(first_stage)

    @transition(
        field=state,
        source=State.IN_REVIEW,
        target=RETURN_VALUE(State.IN_REVIEW, State.APPROVED),
        permission=_may_review,
    )
    def approve(self, *, next_stage: RouteStage | None):
        self.current_stage = next_stage
        return self.State.IN_REVIEW if next_stage else self.State.APPROVED

    @transition(field=state, source=State.IN_REVIEW, target=State.RETURNED, permission=_may_review)
    def return_for_changes(self):
        self.current_stage = None

    @transition(field=state, source=State.IN_REVIEW, target=State.REJECTED, permission=_may_review)
    def reject(self):
        self.current_stage = None

    @transition(field=state, source=[State.APPROVED, State.PUBLISHED], target=State.PUBLISHED, permission=_may_publish)
    def publish(self):
        pass

    @transition(
        field=state,
        source=[State.DRAFT, State.IN_REVIEW, State.RETURNED, State.APPROVED],
        target=State.WITHDRAWN,
        permission=_may_withdraw,
    )
    def withdraw(self):
        self.current_stage = None


labels.register(Document.State)


# Direct foreign keys make guardian's lookups plain joins instead of generic string matches.
class DocumentUserObjectPermission(UserObjectPermissionBase):
    content_object = models.ForeignKey(Document, on_delete=models.CASCADE)


class DocumentGroupObjectPermission(GroupObjectPermissionBase):
    content_object = models.ForeignKey(Document, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        # The permission filters ask, piece by piece, which groups hold a permission on it (index only).
        indexes = [models.Index(fields=["content_object", "permission", "group"], name="document_group_grant")]


class Revision(models.Model):
    """An immutable snapshot of a piece's content; signatures point at its hash."""

    document = models.ForeignKey(Document, on_delete=models.PROTECT, related_name="revisions", verbose_name=_("piece"))
    number = models.PositiveIntegerField(_("number"))
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("body"))
    content_hash = models.CharField(_("content hash"), max_length=64)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("author")
    )
    # A proofreader's correction names the stage it was made at; the drafter's revisions name none.
    stage = models.ForeignKey(
        RouteStage, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("corrected at")
    )
    note = models.TextField(_("what changed"), blank=True)
    # What a proofreader reads (every character but white space): the denominator of error rates, kept for the
    # statistics to sum in the database.
    characters = models.PositiveIntegerField(_("characters"), default=0)
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
    """One run of one stage of a piece's route: who decided, what, and on which content."""

    class Decision(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        RETURNED = "returned", _("Returned for changes")
        REJECTED = "rejected", _("Rejected")
        CANCELLED = "cancelled", _("Not reached")

    document = models.ForeignKey(
        Document, on_delete=models.PROTECT, related_name="stage_reviews", verbose_name=_("piece")
    )
    stage = models.ForeignKey(RouteStage, on_delete=models.PROTECT, related_name="reviews", verbose_name=_("stage"))
    round = models.PositiveIntegerField(_("review round"))
    meaning = models.CharField(
        _("meaning of signature"), max_length=50, help_text=_("The stage's name in the piece's route, e.g. 终审.")
    )
    decision = models.CharField(_("decision"), max_length=32, choices=Decision.choices, default=Decision.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    signer_name = models.CharField(_("printed name"), max_length=150, blank=True)
    # A deputy's signature is given on behalf of the person whose role was lent to them: both names are kept.
    on_behalf_of = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("on behalf of"),
    )
    on_behalf_of_name = models.CharField(_("on behalf of (printed name)"), max_length=150, blank=True)
    signer_role = models.CharField(_("role"), max_length=100, blank=True, help_text=_("The role code, as signed."))
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    opinion = models.TextField(_("opinion"), blank=True)
    revision = models.ForeignKey(Revision, on_delete=models.PROTECT, related_name="+", verbose_name=_("revision"))
    revision_hash = models.CharField(_("content hash signed"), max_length=64)
    # The stage's clock: when the piece reached it, when it is due, and when its reviewers were reminded and
    # the lateness escalated (each once).
    # Who said they are on it (claimed, or assigned by the department head): shown to the others holding the role.
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("claimed by"),
    )
    # A stage needing several signatures (its quorum) keeps one row as its own, decided by the last signature;
    # each signature before it is a row of its own, a co-signature.
    cosignature = models.BooleanField(_("co-signature"), default=False)
    started_at = models.DateTimeField(_("reached"), null=True, blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated"), null=True, blank=True)

    class Meta:
        # In signing order within a stage: its co-signatures first, then the signature that completed it.
        ordering = ["document", "round", "stage__position", "-cosignature", "pk"]
        verbose_name = _("stage review")
        verbose_name_plural = _("stage reviews")
        constraints = [
            models.UniqueConstraint(
                fields=["stage", "round"], condition=Q(cosignature=False), name="stage_review_once_per_round"
            ),
            models.UniqueConstraint(
                fields=["stage", "round", "decided_by"], name="stage_review_one_signature_per_person"
            ),
        ]

    def __str__(self):
        return f"{self.document} · {self.meaning} · {self.get_decision_display()}"

    @property
    def signed_as(self) -> str:
        """Return the signer's printed name, with the delegator's when a deputy signed on their behalf."""
        if self.on_behalf_of_name:
            return _("%(name)s (on behalf of %(principal)s)") % {
                "name": self.signer_name, "principal": self.on_behalf_of_name,
            }  # fmt: skip
        return self.signer_name

    @property
    def signer_role_label(self) -> str:
        return role_label(self.signer_role)

    @property
    def meanings(self) -> str:
        """Return both meanings of the signature, e.g. 初审/初校."""
        return self.stage.meanings


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

    def describe(self) -> dict:
        """Return what the audit log records of the file."""
        return {"name": self.original_name, "size": self.size, "sha256": self.sha256}
