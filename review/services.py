"""One function per user action, shared by the web pages and the API: every rule of the workflow lives here.

Each action checks, in this order, *when* (is the piece in a state for it? did someone else act first? a
`Conflict`), *who* (may this person do it? `NotAllowed`) and *what* (is the input acceptable? `Invalid`).
Then, in one transaction, it moves the state machine, saves, derives the object permissions from the route,
writes the audit event and queues the webhooks. A refusal changes nothing, and is itself written to the audit
log (outside the rolled-back transaction), except plain input errors, which the user simply corrects.
"""

import datetime
import hashlib
import re
from contextlib import contextmanager
from decimal import Decimal

import nh3
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_fsm import ConcurrentTransition, has_transition_perm

from accounts.models import Department, Membership, User
from accounts.services import group_name
from accounts.signature import SignatureRefused, check_signature
from audit.labels import Action as AuditLogAction
from audit.models import AuditEvent

from . import deadlines, notifications, permissions, prechecks, proofreading, webhooks
from .models import (
    Attachment,
    AuditAction,
    Channel,
    ChecklistAnswer,
    Dismissal,
    Document,
    Kind,
    Publication,
    RecordedError,
    Revision,
    RouteStage,
    StageReview,
    Workflow,
    content_hash,
)
from .models.documents import signed_by
from .models.notifications import Event as Notify
from .pdf import signoff_sheet_pdf
from .reasons import in_each_language, reason

ALLOWED_TAGS = {
    "p", "div", "br", "strong", "b", "em", "i", "u", "del", "s", "a",
    "h1", "h2", "h3", "blockquote", "pre", "ul", "ol", "li",
    "table", "thead", "tbody", "tr", "th", "td",  # from Word: tables survive
}  # fmt: skip
EDITABLE_FIELDS = ("title", "body", "summary", "channels", "kind", "source", "is_major", "is_urgent", "due_date")
# A piece goes out after it was written and before now; a day's grace for clocks and time zones.
PUBLICATION_GRACE = datetime.timedelta(days=1)


class Refusal(Exception):
    """An action refused, with the reason in words for the user; the subclass says how to answer.

    The reason is best a lazy translation (reasons.py): the audit log then keeps it in every language.
    """

    recorded = True  # written to the audit log as a refused action

    def __init__(self, reason, *, field: str | None = None):
        super().__init__(reason)
        self.reason, self.field = reason, field

    @property
    def message(self) -> str:
        """The reason, in the active language."""
        return str(self.reason)


class Conflict(Refusal):
    """The piece is not in a state for this action, or someone else acted first (HTTP 409)."""


class NotAllowed(Refusal, PermissionDenied):
    """This person may not do this to this piece (HTTP 403)."""


class Invalid(Refusal):
    """The input is not acceptable (HTTP 400); `field` names what to correct."""

    recorded = False


class BadSignature(Invalid):
    """The password given to sign is wrong: an input error, and a security event."""

    recorded = True


class Locked(Refusal):
    """Too many wrong passwords: signing is locked for a while (HTTP 429)."""


def record_refusal(*, user, document: Document | None, attempted: str, reason) -> None:
    """Write a refused action to the audit log, with the piece as stored now: the state the refusal was decided
    on (the caller's copy may predate a change the service saw under its lock, the reason for a late click)."""
    if document is not None:
        document = Document.objects.select_related("current_revision").get(pk=document.pk)
    state = document.state if document is not None else ""
    revision = document.current_revision if document is not None else None
    AuditEvent.objects.record(
        action=AuditLogAction.REFUSED,
        actor=user,
        obj=document,
        scope=str(document.department_id) if document is not None else "",
        content_hash=revision.content_hash if revision else "",
        from_state=state,
        to_state=state,
        # The reason as the person refused read it, and in each language for whoever reads the log later.
        data={"attempted": attempted, "reason": str(reason), **_in_each_language(reason)},
    )


def _in_each_language(reason) -> dict:
    texts = in_each_language(reason)
    return {"reasons": texts} if texts else {}


@contextmanager
def refused_as(attempted: str, user, document: Document | None = None):
    """Record a refusal raised inside the block (after its transaction has rolled back), then let it go on."""
    try:
        yield
    except Refusal as refusal:
        if refusal.recorded:
            record_refusal(user=user, document=document, attempted=attempted, reason=refusal.reason)
        raise


# The editor keeps a table as a block of its own: a <figure> holding it, in a <div> (review/static/review/editor.js).
# The allow-list drops the figure; this drops the div, so a table goes back into storage as it came out.
_TABLE_IN_BLOCK = re.compile(r"<div>(<table>(?:(?!<table[\s>]).)*?</table>)</div>", re.DOTALL)


def sanitise(html: str) -> str:
    """Return `html` reduced to the formatting the editor offers; scripts and styles are dropped."""
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )
    return _TABLE_IN_BLOCK.sub(r"\1", cleaned).strip()


def _locked(document: Document) -> Document:
    """Re-read the piece under a row lock, so concurrent actions on it queue up (its stage and content with it,
    unlocked: they are read in the same transaction, after the lock)."""
    return (
        Document.objects.select_for_update(of=("self",))
        .select_related("current_stage", "current_revision")
        .get(pk=document.pk)
        .remember_reads()  # under the lock: what the checks read holds until the action changes it
    )


def _record(action: str, *, user, document: Document, from_state: str | None = None, **details) -> AuditEvent:
    """Write the audit event of an action on a piece, with the content it applied to (and its change of state)."""
    revision = document.current_revision
    if from_state is not None:
        details.update(from_state=from_state, to_state=document.state)
    return AuditEvent.objects.record(
        action=action,
        actor=user,
        obj=document,
        scope=str(document.department_id),
        content_hash=revision.content_hash if revision else "",
        **details,
    )


def _new_revision(document: Document, author: User, *, stage: RouteStage | None = None, note: str = "") -> Revision:
    revision = Revision.objects.create(
        document=document,
        number=document.revisions.count() + 1,
        title=document.title,
        body=document.body,
        content_hash=content_hash(document.title, document.body),
        characters=proofreading.character_count(document.title, document.body),
        author=author,
        stage=stage,
        note=note,
    )
    document.current_revision = revision
    return revision


def clean_body(body: str) -> str:
    """Return the body as stored: sanitised, and refused when nothing is left of it."""
    body = sanitise(body)
    if not body:
        raise Invalid(gettext_lazy("Write the piece before saving it."), field="body")
    return body


# Writing.


def check_can_draft(user: User) -> None:
    """Raise unless `user` drafts for some department."""
    if not user.memberships.filter(role=Membership.Role.DRAFTER).exists():
        raise NotAllowed(
            gettext_lazy("You do not draft for any department; ask an administrator for the drafter role.")
        )


def create_document(
    *,
    drafter: User,
    title: str,
    body: str,
    department: Department,
    channels: list[str],
    kind: str,
    summary: str = "",
    is_major: bool = False,
    is_urgent: bool = False,
    due_date: datetime.date | None = None,
    source: str = "",
    copied_from: Document | None = None,
) -> Document:
    """Save a new draft with its first revision (`copied_from`: the rejected piece it starts again from)."""
    with refused_as("create", drafter), transaction.atomic():
        if not drafter.memberships.filter(role=Membership.Role.DRAFTER, department=department).exists():
            raise NotAllowed(reason(gettext_lazy("You do not draft for %(department)s."), department=str(department)))
        document = Document.objects.create(
            title=title,
            body=clean_body(body),
            summary=summary,
            department=department,
            drafter=drafter,
            channels=channels,
            kind=kind,
            is_major=is_major,
            is_urgent=is_urgent,
            due_date=due_date,
            source=source,
        )
        _new_revision(document, drafter)
        document.save(update_fields=["current_revision"])
        permissions.sync_grants(document)
        data = {"copied_from": copied_from.pk} if copied_from else {}
        _record(AuditAction.CREATED, user=drafter, document=document, from_state="", data=data)
        return document


def copy_document(*, document: Document, user: User) -> Document:
    """Start a new draft from a rejected piece (its drafter's): the same text and settings, no history."""
    with refused_as("copy", user, document):
        if document.state != Document.State.REJECTED:
            raise Conflict(
                gettext_lazy("Only a rejected piece is copied into a new draft; this one can still be changed.")
            )
        if user.pk != document.drafter_id:
            raise NotAllowed(gettext_lazy("Only the drafter can start a new draft from this piece."))
    fields = {name: getattr(document, name) for name in ("title", "body", "summary", "channels", "kind", "source")}
    return create_document(drafter=user, department=document.department, copied_from=document, **fields)


def check_editable(document: Document, user: User) -> None:
    """Raise why `user` may not change the piece's files now (a conflict for its state, else a refusal), or return.

    Files go with a draft or a returned piece only: attaching one in review would change what was signed.
    """
    if document.state not in Document.EDITABLE_STATES:
        raise Conflict(gettext_lazy("This piece can no longer be edited."))
    if not has_transition_perm(document.submit, user):
        raise NotAllowed(gettext_lazy("Only the drafter can edit this piece."))


def check_revisable(document: Document, user: User) -> None:
    """Raise why `user` may not change the piece's content now, or return.

    The drafter may change it until it is published; after submission the change restarts its review.
    """
    if document.state in Document.EDITABLE_STATES:
        return check_editable(document, user)
    if document.state not in Document.RESTARTABLE_STATES:
        raise Conflict(gettext_lazy("This piece can no longer be edited."))
    if not has_transition_perm(document.restart, user):
        raise NotAllowed(gettext_lazy("Only the drafter can edit this piece."))


def edit_document(*, document: Document, user: User, note: str = "", assembled: bool = False, **changes) -> Document:
    """Change the piece; new content becomes a new revision.

    A draft or a returned piece simply changes. A piece in review or approved goes back to the first stage of
    its route in a new round, and `note` (what changed, for the reviewers) is required; only the due date, which
    no one signs, changes without that. An issue of the bulletin takes its text from its pieces (`assembled`,
    by review.bulletins), never typed.
    """
    with refused_as("edit", user, document), transaction.atomic():
        document = _locked(document)
        check_revisable(document, user)
        if "body" in changes:
            changes["body"] = clean_body(changes["body"])
        changed = sorted(
            name for name in EDITABLE_FIELDS if name in changes and getattr(document, name) != changes[name]
        )
        if not changed:
            return document
        if document.kind == Kind.BULLETIN and not assembled and {"title", "body", "kind"} & set(changed):
            raise Invalid(
                gettext_lazy("An issue of the bulletin is changed on its own page: its pieces, sections and note.")
            )
        restart = document.state in Document.RESTARTABLE_STATES and changed != ["due_date"]
        for name in changed:
            setattr(document, name, changes[name])
        if restart:
            stages = _stages_to_pass(document)
            if not note.strip():
                raise Invalid(
                    gettext_lazy(
                        "Say what you changed: the piece goes back to the first stage and its reviewers will read it."
                    ),
                    field="note",
                )
        if {"title", "body"} & set(changed):
            _new_revision(document, user, note=note.strip() if restart else "")
        document.save()
        _record(AuditAction.EDITED, user=user, document=document, data={"fields": changed})
        if restart:
            document.stage_reviews.filter(round=document.round, decision=StageReview.Decision.PENDING).update(
                decision=StageReview.Decision.CANCELLED
            )
            _start_round(document, user, stages, note=note.strip(), restarted=True)
        return document


def correct_document(*, document: Document, user: User, title: str, body: str, note: str = "") -> Document:
    """A proofreader's correction (校对) at the current stage: the text changed in place, as a new revision
    attributed to the reviewer and the stage it was made at. The piece stays where it is; the reviewer's own
    signature, when they approve, binds to the corrected text."""
    with refused_as("correct", user, document), transaction.atomic():
        document = _locked(document)
        check_correctable(document, user)
        body = clean_body(body)
        if not title.strip():
            raise Invalid(gettext_lazy("The piece needs a title."), field="title")
        changed = [name for name, value in (("title", title), ("body", body)) if getattr(document, name) != value]
        if not changed:
            raise Invalid(gettext_lazy("The text is as it was: there is no correction to save."), field="body")
        document.title, document.body = title, body
        stage = document.current_stage
        revision = _new_revision(document, user, stage=stage, note=note.strip())
        document.save()
        _record(
            AuditAction.EDITED,
            user=user,
            document=document,
            actor_role=stage.role,
            comment=note.strip(),
            data={"fields": changed, "correction": True, "stage": stage.meanings, "revision": revision.number},
        )
        return document


def submit_document(*, document: Document, user: User, note: str = "") -> Document:
    """Send a draft (or a returned piece) to the first stage of its route.

    On first submission the piece copies its workflow's stages into its own route; later rounds follow that copy.
    A returned piece goes back with `note`, what the drafter changed, for the reviewers.
    """
    with refused_as("submit", user, document), transaction.atomic():
        document = _locked(document)
        check_submittable(document, user)
        if not document.route.exists():
            workflow = Workflow.objects.for_document(document)
            if workflow is not None:
                RouteStage.copy(document, workflow)
                document.workflow = workflow
        if not document.channels:
            raise Invalid(
                gettext_lazy("Choose where the piece goes out (its channels) before submitting it."), field="channels"
            )
        stages = _stages_to_pass(document)
        if document.state == Document.State.RETURNED and not note.strip():
            raise Invalid(gettext_lazy("Say briefly what you changed since the piece was returned."), field="note")
        return _start_round(document, user, stages, note=note.strip())


def check_submittable(document: Document, user: User) -> None:
    """Raise why `user` may not submit the piece now, or return."""
    if document.state not in Document.EDITABLE_STATES:
        raise Conflict(gettext_lazy("This piece has already been submitted."))
    if not has_transition_perm(document.submit, user):
        raise NotAllowed(gettext_lazy("Only the drafter can submit this piece."))


def _stages_to_pass(document: Document) -> list[RouteStage]:
    """Return the stages of its route the piece must pass in a new round, or raise when none applies."""
    stages = document.applicable_route()
    if not stages:
        raise Conflict(gettext_lazy("No review workflow applies to this piece; ask an administrator to set one up."))
    return stages


def _start_round(
    document: Document, user: User, stages: list[RouteStage], *, note: str, restarted: bool = False
) -> Document:
    """Start a round of review at the first of `stages`: on submission, or restarted after a change."""
    from_state = document.state
    (document.restart if restarted else document.submit)(first_stage=stages[0])
    document.submission_note = note
    reviews = StageReview.objects.bulk_create(
        StageReview(
            document=document,
            stage=stage,
            round=document.round,
            meaning=stage.name,
            revision=document.current_revision,
            revision_hash=document.current_revision.content_hash,
        )
        for stage in stages
    )
    deadlines.start_clock(document, reviews[0], document.submitted_at)
    document.save()
    permissions.sync_grants(document)
    data = {"round": document.round, "stage": stages[0].name, "stages": [stage.name for stage in stages]}
    if restarted:
        data["restarted"] = True
    _record(AuditAction.SUBMITTED, user=user, document=document, from_state=from_state, comment=note, data=data)
    webhooks.fire(webhooks.Event.SUBMITTED, document=document, actor=user, stage=stages[0].name)
    notifications.notify(Notify.AWAITING, document=document, actor=user, stage=stages[0])
    return document


# Deciding: approve, return for changes, reject.


def check_decision(*, document: Document, user: User, review_id: int | None) -> StageReview:
    """Return the stage review `user` may decide now, or raise why not.

    A late click is a conflict, whoever clicks: the piece has left review, the stage the form was made for is
    decided, or (without a form's stage) the person could have acted at a stage of this round someone else has
    decided since. Otherwise the drafter, someone without the stage's role, or a reviewer of another stage is
    refused.
    """
    if document.state != Document.State.IN_REVIEW:
        raise Conflict(
            reason(
                gettext_lazy("This piece is no longer in review (it is now %(state)s)."),
                state=Document.State(document.state).label,
            )
        )
    review = document.waiting_review()
    if review is None:
        raise StageReview.DoesNotExist(f"piece {document.pk} has no review waiting at its current stage")
    if review_id is not None and review.pk != review_id:
        raise Conflict(
            reason(
                gettext_lazy("Someone else has already decided this stage; the piece is now at %(stage)s."),
                stage=gettext_lazy(review.meaning),
            )
        )
    refusal = document.review_refusal(user)
    if refusal:
        if review_id is None and user.pk != document.drafter_id and _decided_by_another(document, user):
            raise Conflict(
                reason(
                    gettext_lazy("Someone else has already decided this stage; the piece is now at %(stage)s."),
                    stage=gettext_lazy(review.meaning),
                )
            )
        raise NotAllowed(refusal)
    return review


def check_reviewer(document: Document, user: User) -> None:
    """Raise unless `user` is the one who may act at the piece's current stage now (no decision involved)."""
    if document.state != Document.State.IN_REVIEW:
        raise Conflict(
            reason(
                gettext_lazy("This piece is no longer in review (it is now %(state)s)."),
                state=Document.State(document.state).label,
            )
        )
    if refusal := document.review_refusal(user):
        raise NotAllowed(refusal)


def check_correctable(document: Document, user: User) -> None:
    """Raise unless `user` may correct the text at the current stage now: its reviewer, before anyone has signed
    at it (at a stage needing several signatures, a correction would change what the first ones signed)."""
    check_reviewer(document, user)
    if document.signatures_at_stage()[0]:
        raise Conflict(
            gettext_lazy(
                "Someone has signed at this stage already: a correction would change the text they signed. Return the "
                "piece for changes instead."
            )
        )


def _decided_by_another(document: Document, user: User) -> bool:
    """Return whether a stage of this round that `user`'s roles act at has been decided by someone else."""
    decided = document.stage_reviews.filter(round=document.round).exclude(decision=StageReview.Decision.PENDING)
    roles = {group_name(role, document.department_id) for role in decided.values_list("stage__role", flat=True)}
    decided_by_user = decided.filter(signed_by(user)).exists()
    return not decided_by_user and user.groups.filter(name__in=roles).exists()


def _decide(
    *,
    document: Document,
    user: User,
    review_id: int | None,
    decision: str,
    opinion: str,
    answers: list[proofreading.Answer] = (),
    errors: list[proofreading.Count] = (),
) -> Document:
    document = _locked(document)
    review = check_decision(document=document, user=user, review_id=review_id)
    if decision != StageReview.Decision.APPROVED and not opinion.strip():
        raise Invalid(gettext_lazy("Give a reason, so the drafter knows what to do."), field="reason")

    from_state = document.state
    principal = document.acting_for(user)  # a deputy signs on behalf of the delegator
    needed = 1
    if decision == StageReview.Decision.APPROVED:
        signed, needed = document.signatures_at_stage()
        if signed + 1 < needed:
            return _cosign(
                document, user, review, opinion, answers, errors, principal=principal, signed=signed + 1, needed=needed
            )
        next_review = min(
            (
                other
                for other in document.read_reviews()
                if other.round == document.round
                and other.decision == StageReview.Decision.PENDING
                and other.pk != review.pk
            ),
            key=lambda other: other.stage.position,
            default=None,
        )
        document.approve(next_stage=next_review.stage if next_review else None)
        if next_review:
            deadlines.start_clock(document, next_review, timezone.now())
        else:
            document.stage_due_at = None
    elif decision == StageReview.Decision.RETURNED:
        document.return_for_changes()
        document.stage_due_at = None
    else:
        document.reject()
        document.stage_due_at = None

    # The conditional update is the guard against a second reviewer of the same stage:
    # only one request can move the row out of "pending".
    # The signature binds to the content as it is now: the stage's own corrections included.
    review.revision = document.current_revision
    review.revision_hash = review.revision.content_hash
    decided = StageReview.objects.filter(pk=review.pk, decision=StageReview.Decision.PENDING).update(
        decision=decision,
        decided_by=user,
        decided_at=timezone.now(),
        signer_name=user.printed_name,
        signer_role=review.stage.role,
        on_behalf_of=principal,
        on_behalf_of_name=principal.printed_name if principal else "",
        opinion=opinion,
        revision=review.revision,
        revision_hash=review.revision_hash,
    )
    if not decided:
        raise Conflict(gettext_lazy("Someone else has already decided this stage."))
    recorded = _keep_answers(review, answers, errors)
    if decision != StageReview.Decision.APPROVED:
        document.stage_reviews.filter(round=document.round, decision=StageReview.Decision.PENDING).update(
            decision=StageReview.Decision.CANCELLED
        )
    try:
        document.save()
    except ConcurrentTransition:
        raise Conflict(gettext_lazy("Someone else has already decided this stage.")) from None
    permissions.sync_grants(document)
    action, event = {
        StageReview.Decision.APPROVED: (AuditAction.APPROVED, webhooks.Event.APPROVED),
        StageReview.Decision.RETURNED: (AuditAction.RETURNED, webhooks.Event.RETURNED),
        StageReview.Decision.REJECTED: (AuditAction.REJECTED, webhooks.Event.REJECTED),
    }[decision]
    _record(
        action,
        user=user,
        document=document,
        actor_role=review.stage.role,
        from_state=from_state,
        comment=opinion,
        data={
            "round": document.round,
            "stage": review.meaning,
            "stage_review": review.pk,
            "revision": review.revision_hash,
            **(_signed_answers(review, answers, recorded) if decision == StageReview.Decision.APPROVED else {}),
            **({"signatures": {"signed": needed, "needed": needed}} if needed > 1 else {}),
            **_on_behalf_of(principal),
        },
    )
    webhooks.fire(event, document=document, actor=user, stage=review.meaning)
    if decision == StageReview.Decision.APPROVED and document.current_stage_id:
        notifications.notify(Notify.PASSED, document=document, actor=user, stage=review.stage)
        notifications.notify(Notify.AWAITING, document=document, actor=user, stage=document.current_stage)
    else:
        notifications.notify(
            {
                StageReview.Decision.APPROVED: Notify.APPROVED,
                StageReview.Decision.RETURNED: Notify.RETURNED,
                StageReview.Decision.REJECTED: Notify.REJECTED,
            }[decision],
            document=document, actor=user, stage=review.stage,
            reason="" if decision == StageReview.Decision.APPROVED else opinion,
        )  # fmt: skip
    return document


def _keep_answers(review: StageReview, answers, errors) -> list[RecordedError]:
    """Store a signature's checklist answers and the errors its proofreader counted; return the errors."""
    ChecklistAnswer.objects.bulk_create(
        ChecklistAnswer(review=review, item_id=answer.item, ok=answer.ok, note=answer.note) for answer in answers
    )
    return RecordedError.objects.bulk_create(
        RecordedError(review=review, category=e.category, weight=e.category.weight, count=e.count, note=e.note)
        for e in errors
    )


def _signed_answers(review: StageReview, answers, recorded: list[RecordedError]) -> dict:
    """Return what an approval's audit event says of its answers: the checklist, the errors and their rate."""
    return {
        "checklist": [{"item": a.item, "ok": a.ok, "note": a.note} for a in answers],
        "errors": proofreading.describe_errors(recorded),
        # Of the errors just recorded (all the signature has): no need to read them back.
        "error_rate": str(
            proofreading.error_rate(sum((e.weighted for e in recorded), Decimal(0)), review.revision.characters)
        ),
    }


def _on_behalf_of(principal: User | None) -> dict:
    """Return what an audit event says of the delegator a deputy acted for (nothing when they acted for themselves)."""
    return {"on_behalf_of": {"username": principal.username, "name": principal.printed_name}} if principal else {}


def _cosign(document, user, review, opinion, answers, errors, *, principal, signed: int, needed: int) -> Document:
    """One approval of the several a stage needs (its quorum), not the last: a signature of its own, while the
    stage waits for the others. The piece stays where it is; whoever signs last moves it on."""
    revision = document.current_revision
    signature = StageReview.objects.create(
        document=document, stage=review.stage, round=document.round, meaning=review.meaning, cosignature=True,
        decision=StageReview.Decision.APPROVED, decided_by=user, decided_at=timezone.now(),
        signer_name=user.printed_name, signer_role=review.stage.role, opinion=opinion,
        on_behalf_of=principal, on_behalf_of_name=principal.printed_name if principal else "",
        revision=revision, revision_hash=revision.content_hash, started_at=review.started_at, due_at=review.due_at,
    )  # fmt: skip
    document.forget_reads()  # a signature more at the stage: what is told of it next counts it
    recorded = _keep_answers(signature, answers, errors)
    StageReview.objects.filter(pk=review.pk, claimed_by=user).update(claimed_by=None)  # done with it
    _record(
        AuditAction.APPROVED,
        user=user,
        document=document,
        actor_role=review.stage.role,
        from_state=document.state,
        comment=opinion,
        data={
            "round": document.round,
            "stage": review.meaning,
            "stage_review": signature.pk,
            "revision": signature.revision_hash,
            **_signed_answers(signature, answers, recorded),
            "signatures": {"signed": signed, "needed": needed},
            **_on_behalf_of(principal),
        },
    )
    webhooks.fire(webhooks.Event.APPROVED, document=document, actor=user, stage=review.meaning)
    return document


def approve(
    *,
    document: Document,
    user: User,
    password: str,
    opinion: str = "",
    review_id: int | None = None,
    checklist: list[dict] = (),
    errors: list[dict] = (),
) -> Document:
    """Sign off both parts of the current stage with an electronic signature; the piece moves on or is approved.

    Every question of the stage's checklist must be answered ({"item": id, "ok": bool, "note": ...}, a note for
    each "no"); the proofreader may record the errors they found and corrected ({"category": id, "count": n}).
    The password is checked before the piece is locked (a password hash takes a while), and everything is
    checked again under the lock, so a decision made in the meantime still wins. The first check takes the lock
    too, briefly: the piece, its reviews and its grants read while another decision commits could otherwise
    disagree, and a late click be taken for a refusal of the person (403 instead of 409).
    """
    with refused_as("approve", user, document):
        # Reads only: nothing to roll back, so no savepoint inside an outer transaction; a refusal leaves the block
        # as a value, so that the outer transaction stays usable for recording it.
        with transaction.atomic(savepoint=False):
            try:
                review, refusal = check_decision(document=_locked(document), user=user, review_id=review_id), None
            except Refusal as refused:
                refusal = refused
        if refusal is not None:
            raise refusal
        # A route's checklist is fixed when the stage is copied: the caller's copy of the stage serves (the
        # decision form has read its questions already).
        given = Document.current_stage.is_cached(document) and document.current_stage_id == review.stage_id
        stage = document.current_stage if given else review.stage
        try:
            answers = proofreading.checked_answers(stage, list(checklist))
        except proofreading.AnswerError as error:
            raise Invalid(str(error), field="checklist") from None
        try:
            counts = proofreading.checked_errors(list(errors)) if errors else []
            if counts and not review.stage.proofread_name:
                raise proofreading.AnswerError(_("This stage has no proofread: there are no errors to record."))
        except proofreading.AnswerError as error:
            raise Invalid(str(error), field="errors") from None
        if not password:
            # Nothing typed is an input to correct, not a wrong password: not a failed login, not recorded.
            raise Invalid(gettext_lazy("Enter your password to sign the approval."), field="password")
        try:
            check_signature(user, password)
        except SignatureRefused as refusal:
            raise (Locked if refusal.locked_out else BadSignature)(refusal.args[0], field="password") from None
        with transaction.atomic():
            return _decide(
                document=document, user=user, review_id=review_id, decision=StageReview.Decision.APPROVED,
                opinion=opinion, answers=answers, errors=counts,
            )  # fmt: skip


def return_for_changes(*, document: Document, user: User, reason: str, review_id: int | None = None) -> Document:
    """Return the piece to its drafter with a reason; resubmission starts again at the first stage."""
    with refused_as("return", user, document), transaction.atomic():
        return _decide(
            document=document, user=user, review_id=review_id, decision=StageReview.Decision.RETURNED, opinion=reason
        )


def reject(*, document: Document, user: User, reason: str, review_id: int | None = None) -> Document:
    """Refuse the piece for good, with a reason."""
    with refused_as("reject", user, document), transaction.atomic():
        return _decide(
            document=document, user=user, review_id=review_id, decision=StageReview.Decision.REJECTED, opinion=reason
        )


# Publishing and withdrawing.


def check_publishable(document: Document, user: User) -> None:
    """Raise why `user` may not mark the piece published now, or return."""
    if document.state not in (Document.State.APPROVED, Document.State.PUBLISHED):
        raise Conflict(gettext_lazy("Only an approved piece can be marked published."))
    if not has_transition_perm(document.publish, user):
        raise NotAllowed(gettext_lazy("You are not a publisher for this piece."))


def publish(
    *,
    document: Document,
    user: User,
    channel: str,
    url: str = "",
    published_at: datetime.datetime | None = None,
) -> Publication:
    """Record that an approved piece went out on one of its approved channels."""
    with refused_as("publish", user, document), transaction.atomic():
        document = _locked(document)
        check_publishable(document, user)
        if channel not in document.channels:
            raise Invalid(gettext_lazy("This channel was not approved for the piece."), field="channel")
        if document.publications.filter(channel=channel).exists():
            # A second click, or a second publisher: the register keeps one line per piece and channel.
            raise Conflict(
                reason(
                    gettext_lazy("This piece is already recorded as published on %(channel)s."),
                    channel=Channel(channel).label,
                )
            )
        now = timezone.now()
        published_at = published_at or now
        if published_at < document.created_at.replace(second=0, microsecond=0):
            raise Invalid(gettext_lazy("The piece did not exist yet at that time."), field="published_at")
        if published_at > now + PUBLICATION_GRACE:
            raise Invalid(
                gettext_lazy("That time is in the future; record a publication once it is out."), field="published_at"
            )
        from_state = document.state
        document.publish()
        document.save()
        publication = Publication.objects.create(
            document=document,
            channel=channel,
            url=url,
            published_at=published_at,
            publisher=user,
            revision=document.current_revision,
        )
        permissions.sync_grants(document)
        details = {"channel": channel, "url": url, "published_at": published_at.isoformat()}
        _record(AuditAction.PUBLISHED, user=user, document=document, from_state=from_state, data=details)
        webhooks.fire(webhooks.Event.PUBLISHED, document=document, actor=user, publication=details)
        notifications.notify(Notify.PUBLISHED, document=document, actor=user)
        return publication


def check_withdrawable(document: Document, user: User) -> None:
    """Raise why `user` may not withdraw the piece now (a conflict for its state, else a refusal), or return."""
    if document.state not in (
        Document.State.DRAFT, Document.State.IN_REVIEW, Document.State.RETURNED, Document.State.APPROVED
    ):  # fmt: skip
        raise Conflict(gettext_lazy("This piece can no longer be withdrawn."))
    if not has_transition_perm(document.withdraw, user):
        raise NotAllowed(gettext_lazy("Only the drafter can withdraw this piece."))


def withdraw(*, document: Document, user: User, reason: str = "") -> Document:
    """Take a piece out of the process at the drafter's request; it can no longer be published."""
    with refused_as("withdraw", user, document), transaction.atomic():
        document = _locked(document)
        check_withdrawable(document, user)
        from_state, stage = document.state, document.current_stage
        document.withdraw()
        document.stage_due_at = None
        document.stage_reviews.filter(round=document.round, decision=StageReview.Decision.PENDING).update(
            decision=StageReview.Decision.CANCELLED
        )
        document.save()
        permissions.sync_grants(document)
        _record(
            AuditAction.WITHDRAWN,
            user=user,
            document=document,
            from_state=from_state,
            comment=reason,
            data={"stage": stage.name} if stage else {},
        )
        if from_state != Document.State.DRAFT:  # a draft no one else has seen goes quietly
            webhooks.fire(webhooks.Event.WITHDRAWN, document=document, actor=user, stage=stage.name if stage else None)
            notifications.notify(Notify.WITHDRAWN, document=document, actor=user, stage=stage, reason=reason)
        return document


# Who is on it: claiming the current stage, releasing it, and reassigning it.


def _current_review(document: Document) -> StageReview:
    return document.stage_reviews.select_related("stage", "claimed_by").get(
        round=document.round, stage=document.current_stage_id, cosignature=False
    )


def claim(*, document: Document, user: User) -> StageReview:
    """Say "I am on it" at the current stage, so the others holding the role see who is (it locks nothing)."""
    with refused_as("claim", user, document), transaction.atomic():
        document = _locked(document)
        check_reviewer(document, user)
        review = _current_review(document)
        if review.claimed_by_id == user.pk:
            return review
        previous = review.claimed_by.printed_name if review.claimed_by else None
        review.claimed_by = user
        review.save(update_fields=["claimed_by"])
        _record(
            AuditAction.CLAIMED, user=user, document=document, actor_role=review.stage.role,
            data={"stage": review.meaning, "previous": previous},
        )  # fmt: skip
        return review


def check_releasable(document: Document, user: User) -> None:
    if document.state != Document.State.IN_REVIEW:
        raise Conflict(gettext_lazy("This piece is no longer in review."))
    if _current_review(document).claimed_by_id != user.pk and not may_reassign(document, user):
        raise NotAllowed(
            gettext_lazy("Only whoever claimed the stage, the department head or an administrator can release it.")
        )


def release(*, document: Document, user: User) -> StageReview:
    """Give the current stage back to everyone holding its role."""
    with refused_as("release", user, document), transaction.atomic():
        document = _locked(document)
        check_releasable(document, user)
        review = _current_review(document)
        if review.claimed_by_id is None:
            return review
        released = review.claimed_by.printed_name
        review.claimed_by = None
        review.save(update_fields=["claimed_by"])
        _record(
            AuditAction.RELEASED, user=user, document=document, data={"stage": review.meaning, "released": released}
        )
        return review


def may_reassign(document: Document, user: User, *, held: set[tuple[str, int | None]] | None = None) -> bool:
    """Return whether `user` may hand the piece's current stage to someone: its department's head, or a superuser.

    `held`: the (role, department) pairs the user holds themselves, when the caller has read them already (the
    page's navigation does)."""
    if user.is_superuser and user.is_active:
        return True
    if held is not None:
        return (Membership.Role.DEPARTMENT_HEAD, document.department_id) in held
    return user.memberships.filter(role=Membership.Role.DEPARTMENT_HEAD, department=document.department_id).exists()


def check_reassigner(document: Document, user: User) -> None:
    if document.state != Document.State.IN_REVIEW:
        raise Conflict(gettext_lazy("This piece is no longer in review."))
    if not may_reassign(document, user):
        raise NotAllowed(gettext_lazy("Only the department head or an administrator can reassign a piece."))


def reassign(*, document: Document, user: User, to: User) -> StageReview:
    """Hand the current stage to `to`, who must be able to act there (four eyes included); they are told."""
    with refused_as("reassign", user, document), transaction.atomic():
        document = _locked(document)
        check_reassigner(document, user)
        if document.review_refusal(to) is not None:
            raise Invalid(_cannot_take_over(document, to), field="to")
        review = _current_review(document)
        previous = review.claimed_by.printed_name if review.claimed_by else None
        review.claimed_by = to
        review.save(update_fields=["claimed_by"])
        _record(
            AuditAction.REASSIGNED, user=user, document=document,
            data={"stage": review.meaning, "to": to.printed_name, "to_id": to.pk, "previous": previous},
        )  # fmt: skip
        notifications.notify(Notify.ASSIGNED, document=document, actor=user, stage=review.stage, to=to)
        return review


def _cannot_take_over(document: Document, person: User) -> str:
    """Say why `person` may not act at the current stage, in the third person (review_refusal speaks to them)."""
    name = person.printed_name
    if person.pk == document.drafter_id:
        return reason(gettext_lazy("%(name)s drafted this piece; someone else must review it."), name=name)
    if not document.granted(person, "review_document"):
        return reason(gettext_lazy("%(name)s does not hold the role that acts at this stage."), name=name)
    return reason(
        gettext_lazy("%(name)s already acted at another stage of this piece; no one acts at two stages."), name=name
    )


def reassign_candidates(document: Document) -> list[User]:
    """Return who could act at the piece's current stage now (four eyes applied), for the reassign form."""
    stage = document.current_stage
    if stage is None:
        return []
    people = User.objects.filter(permissions.may_act_at(document, stage), is_active=True)
    return [person for person in people.distinct().order_by("username") if document.review_refusal(person) is None]


# Attachments.


def attach_file(*, document: Document, user: User, upload, extension: str, content_type: str) -> Attachment:
    """Add a checked upload to a piece while its drafter may still change it."""
    with refused_as("attach", user, document), transaction.atomic():
        document = _locked(document)
        check_editable(document, user)
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        attachment = Attachment(
            document=document,
            original_name=upload.name[:200],
            extension=extension,
            content_type=content_type,
            size=upload.size,
            sha256=digest.hexdigest(),
            uploaded_by=user,
        )
        # The stored name is generated (attachment_path); a rolled-back upload leaves an unreferenced file only.
        attachment.file.save(upload.name, upload, save=False)
        attachment.save()
        _record(
            AuditAction.EDITED,
            user=user,
            document=document,
            data={"fields": ["attachments"], "added": attachment.describe()},
        )
        return attachment


def remove_attachment(*, attachment: Attachment, user: User) -> None:
    """Take a file off a piece while its drafter may still change it."""
    with refused_as("remove attachment", user, attachment.document), transaction.atomic():
        document = _locked(attachment.document)
        check_editable(document, user)
        described, stored = attachment.describe(), attachment.file.name
        attachment.delete()
        transaction.on_commit(lambda: Attachment.file.field.storage.delete(stored))
        _record(
            AuditAction.EDITED, user=user, document=document, data={"fields": ["attachments"], "removed": described}
        )


# Pre-checks.


def dismiss_finding(*, document: Document, user: User, rule: str, excerpt: str, reason: str) -> Dismissal:
    """Record that a pre-check finding does not apply to the piece, and why (the reviewer at the current stage)."""
    with refused_as("dismiss finding", user, document), transaction.atomic():
        document = _locked(document)
        check_reviewer(document, user)
        if not reason.strip():
            raise Invalid(gettext_lazy("Say why the finding does not apply."), field="reason")
        if not any(f.rule == rule and f.excerpt == excerpt for f in prechecks.findings_for(document)):
            raise Invalid(gettext_lazy("There is no such finding in the piece as it now is."), field="rule")
        dismissal, _created = Dismissal.objects.update_or_create(
            document=document, rule=rule, excerpt=excerpt, defaults={"reason": reason.strip(), "dismissed_by": user}
        )
        _record(
            AuditAction.FINDING_DISMISSED,
            user=user,
            document=document,
            comment=reason.strip(),
            data={"rule": rule, "excerpt": excerpt},
        )
        return dismissal


# Downloads: each is an audit event.


def record_download(*, user, document: Document | None = None, **data) -> AuditEvent:
    """Write the audit event of a download (a sign-off sheet, an attachment, the register)."""
    if document is None:
        return AuditEvent.objects.record(action=AuditLogAction.DOWNLOADED, actor=user, data=data)
    return _record(AuditLogAction.DOWNLOADED, user=user, document=document, data=data)


def signoff_sheet(*, document: Document, user, base_url: str = "") -> bytes:
    """Return the piece's sign-off sheet (审签单) as a PDF. The download is recorded first, so the chain head
    printed on the sheet covers it."""
    record_download(user=user, document=document, format="signoff_pdf")
    return signoff_sheet_pdf(document, base_url=base_url)
