"""One function per user action. Each owns its transaction: it checks, moves the state machine,
saves, writes the audit event and moves the object permissions, all or nothing."""

import datetime
import hashlib

import nh3
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, has_transition_perm

from accounts.models import Department, Membership, User

from . import permissions, webhooks
from .models import (
    Attachment,
    AuditEvent,
    Channel,
    Document,
    Publication,
    Revision,
    StageReview,
    Workflow,
    content_hash,
)

ALLOWED_TAGS = {
    "p", "div", "br", "strong", "b", "em", "i", "u", "del", "s", "a",
    "h1", "h2", "h3", "blockquote", "pre", "ul", "ol", "li",
}  # fmt: skip


class Conflict(Exception):
    """The piece is not in a state for this action, or someone else acted first."""


def sanitise(html: str) -> str:
    """Return `html` reduced to the formatting the editor offers; scripts and styles are dropped."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    ).strip()


def _locked(document: Document) -> Document:
    """Re-read the piece under a row lock, so concurrent actions on it queue up."""
    return Document.objects.select_for_update().get(pk=document.pk)


def _new_revision(document: Document, author: User) -> Revision:
    revision = Revision.objects.create(
        document=document,
        number=document.revisions.count() + 1,
        title=document.title,
        body=document.body,
        content_hash=content_hash(document.title, document.body),
        author=author,
    )
    document.current_revision = revision
    return revision


@transaction.atomic
def create_document(
    *,
    drafter: User,
    title: str,
    body: str,
    department: Department,
    channels: list[str],
    kind: str,
    is_major: bool = False,
    due_date: datetime.date | None = None,
    source: str = "",
) -> Document:
    """Save a new draft with its first revision."""
    if not drafter.memberships.filter(role=Membership.Role.DRAFTER, department=department).exists():
        raise PermissionDenied(_("You do not draft for %(department)s.") % {"department": department})
    document = Document.objects.create(
        title=title,
        body=sanitise(body),
        department=department,
        drafter=drafter,
        channels=channels,
        kind=kind,
        is_major=is_major,
        due_date=due_date,
        source=source,
    )
    _new_revision(document, drafter)
    document.save(update_fields=["current_revision"])
    permissions.grant_drafting(document)
    AuditEvent.objects.record(
        action=AuditEvent.Action.CREATED, actor=drafter, document=document, to_state=document.state
    )
    return document


def _require_editable(document: Document, user: User) -> None:
    if not has_transition_perm(document.submit, user):
        if document.state not in Document.EDITABLE_STATES:
            raise Conflict(_("This piece can no longer be edited."))
        raise PermissionDenied(_("Only the drafter can edit this piece."))


EDITABLE_FIELDS = ("title", "body", "channels", "kind", "source", "is_major", "due_date")


@transaction.atomic
def edit_document(*, document: Document, user: User, **changes) -> Document:
    """Change a draft or a returned piece; new content becomes a new revision."""
    document = _locked(document)
    _require_editable(document, user)
    if "body" in changes:
        changes["body"] = sanitise(changes["body"])
    changed = sorted(name for name in EDITABLE_FIELDS if name in changes and getattr(document, name) != changes[name])
    for name in changed:
        setattr(document, name, changes[name])
    if not changed:
        return document
    if {"title", "body"} & set(changed):
        _new_revision(document, user)
    document.save()
    AuditEvent.objects.record(action=AuditEvent.Action.EDITED, actor=user, document=document, data={"fields": changed})
    return document


@transaction.atomic
def submit_document(*, document: Document, user: User) -> Document:
    """Send a draft (or a returned piece) to the first stage of its workflow."""
    document = _locked(document)
    if document.state not in Document.EDITABLE_STATES:
        raise Conflict(_("This piece has already been submitted."))
    if not has_transition_perm(document.submit, user):
        raise PermissionDenied(_("Only the drafter can submit this piece."))
    workflow = document.workflow or Workflow.objects.for_document(document)
    stages = workflow.stages_for(document) if workflow else []
    if not stages:
        raise Conflict(_("No review workflow applies to this piece; ask an administrator to set one up."))
    from_state = document.state
    document.submit(workflow=workflow, first_stage=stages[0])
    StageReview.objects.bulk_create(
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
    document.save()
    permissions.freeze_drafting(document)
    permissions.open_stage(document, stages[0])
    AuditEvent.objects.record(
        action=AuditEvent.Action.SUBMITTED,
        actor=user,
        document=document,
        from_state=from_state,
        to_state=document.state,
        stage=stages[0].name,
        data={"round": document.round, "stages": [stage.name for stage in stages]},
    )
    webhooks.fire(webhooks.Event.SUBMITTED, document=document, actor=user, stage=stages[0].name)
    return document


def check_decision(*, document: Document, user: User, review_id: int | None) -> StageReview:
    """Return the stage review `user` may decide now, or raise why not.

    A late click (the stage the form was made for is already decided) is a conflict, whoever clicks;
    otherwise someone without the role, the drafter or a reviewer of another stage is refused.
    """
    if document.state != Document.State.IN_REVIEW:
        raise Conflict(
            _("This piece is no longer in review (it is now %(state)s).") % {"state": document.get_state_display()}
        )
    review = document.stage_reviews.select_related("stage").get(round=document.round, stage=document.current_stage_id)
    if review_id is not None and review.pk != review_id:
        raise Conflict(
            _("Someone else has already decided this stage; the piece is now at %(stage)s.") % {"stage": review.meaning}
        )
    refusal = document.review_refusal(user)
    if refusal:
        raise PermissionDenied(refusal)
    return review


def _decide(*, document: Document, user: User, review_id: int | None, decision: str, opinion: str) -> Document:
    document = _locked(document)
    review = check_decision(document=document, user=user, review_id=review_id)

    from_state = document.state
    if decision == StageReview.Decision.APPROVED:
        next_review = (
            document.stage_reviews.filter(round=document.round, decision=StageReview.Decision.PENDING)
            .exclude(pk=review.pk)
            .select_related("stage")
            .order_by("stage__position")
            .first()
        )
        document.approve(next_stage=next_review.stage if next_review else None)
    elif decision == StageReview.Decision.CHANGES_REQUESTED:
        document.request_changes()
    else:
        document.reject()

    # The conditional update is the guard against a second reviewer of the same stage:
    # only one request can move the row out of "pending".
    decided = StageReview.objects.filter(pk=review.pk, decision=StageReview.Decision.PENDING).update(
        decision=decision,
        decided_by=user,
        decided_at=timezone.now(),
        signer_name=user.printed_name,
        signer_role=review.stage.role,
        opinion=opinion,
    )
    if not decided:
        raise Conflict(_("Someone else has already decided this stage."))
    if decision != StageReview.Decision.APPROVED:
        document.stage_reviews.filter(round=document.round, decision=StageReview.Decision.PENDING).update(
            decision=StageReview.Decision.CANCELLED
        )
    try:
        document.save()
    except ConcurrentTransition:
        raise Conflict(_("Someone else has already decided this stage.")) from None

    permissions.close_stage(document, review.stage)
    if document.state == Document.State.IN_REVIEW:
        permissions.open_stage(document, document.current_stage)
    elif document.state == Document.State.APPROVED:
        permissions.open_publishing(document)
    elif document.state == Document.State.CHANGES_REQUESTED:
        permissions.reopen_drafting(document)

    action = {
        StageReview.Decision.APPROVED: AuditEvent.Action.APPROVED,
        StageReview.Decision.CHANGES_REQUESTED: AuditEvent.Action.CHANGES_REQUESTED,
        StageReview.Decision.REJECTED: AuditEvent.Action.REJECTED,
    }[decision]
    AuditEvent.objects.record(
        action=action,
        actor=user,
        actor_role=review.stage.role,
        document=document,
        from_state=from_state,
        to_state=document.state,
        stage=review.meaning,
        opinion=opinion,
        data={"round": document.round, "stage_review": review.pk, "revision": review.revision_hash},
    )
    event = {
        StageReview.Decision.APPROVED: webhooks.Event.APPROVED,
        StageReview.Decision.CHANGES_REQUESTED: webhooks.Event.RETURNED,
        StageReview.Decision.REJECTED: webhooks.Event.REJECTED,
    }[decision]
    webhooks.fire(event, document=document, actor=user, stage=review.meaning)
    return document


@transaction.atomic
def approve(*, document: Document, user: User, opinion: str = "", review_id: int | None = None) -> Document:
    """Sign off the current stage; the piece moves to the next stage or is approved."""
    return _decide(
        document=document, user=user, review_id=review_id, decision=StageReview.Decision.APPROVED, opinion=opinion
    )


@transaction.atomic
def request_changes(*, document: Document, user: User, reason: str, review_id: int | None = None) -> Document:
    """Return the piece to its drafter with a reason; resubmission starts at the first stage."""
    if not reason.strip():
        raise ValueError("A reason is required to return a piece.")
    return _decide(
        document=document,
        user=user,
        review_id=review_id,
        decision=StageReview.Decision.CHANGES_REQUESTED,
        opinion=reason,
    )


@transaction.atomic
def reject(*, document: Document, user: User, reason: str, review_id: int | None = None) -> Document:
    """Refuse the piece for good, with a reason."""
    if not reason.strip():
        raise ValueError("A reason is required to reject a piece.")
    return _decide(
        document=document, user=user, review_id=review_id, decision=StageReview.Decision.REJECTED, opinion=reason
    )


@transaction.atomic
def publish(*, document: Document, user: User, channel: str, url: str, published_at: datetime.datetime) -> Publication:
    """Record that an approved piece went out on a channel."""
    document = _locked(document)
    if document.state not in (Document.State.APPROVED, Document.State.PUBLISHED):
        raise Conflict(_("Only an approved piece can be marked published."))
    if not has_transition_perm(document.publish, user):
        raise PermissionDenied(_("You are not a publisher for this piece."))
    if channel not in document.channels:
        raise ValueError(f"Channel {channel!r} was not approved for this piece.")
    if document.publications.filter(channel=channel).exists():
        # A second click, or a second publisher: the register keeps one line per piece and channel.
        raise Conflict(
            _("This piece is already recorded as published on %(channel)s.") % {"channel": Channel(channel).label}
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
    AuditEvent.objects.record(
        action=AuditEvent.Action.PUBLISHED,
        actor=user,
        document=document,
        from_state=from_state,
        to_state=document.state,
        data={"channel": channel, "url": url, "published_at": published_at.isoformat()},
    )
    webhooks.fire(
        webhooks.Event.PUBLISHED,
        document=document,
        actor=user,
        publication={"channel": channel, "url": url, "published_at": published_at.isoformat()},
    )
    return publication


@transaction.atomic
def withdraw(*, document: Document, user: User, reason: str = "") -> Document:
    """Take a piece out of the process at the drafter's request; it can no longer be published."""
    document = _locked(document)
    if not has_transition_perm(document.withdraw, user):
        if user.pk != document.drafter_id:
            raise PermissionDenied(_("Only the drafter can withdraw this piece."))
        raise Conflict(_("This piece can no longer be withdrawn."))
    from_state = document.state
    stage = document.current_stage
    document.withdraw()
    if stage is not None:
        document.stage_reviews.filter(round=document.round, decision=StageReview.Decision.PENDING).update(
            decision=StageReview.Decision.CANCELLED
        )
        permissions.close_stage(document, stage)
    permissions.freeze_drafting(document)
    permissions.close_publishing(document)
    document.save()
    AuditEvent.objects.record(
        action=AuditEvent.Action.WITHDRAWN,
        actor=user,
        document=document,
        from_state=from_state,
        to_state=document.state,
        stage=stage.name if stage else "",
        opinion=reason,
    )
    return document


@transaction.atomic
def attach_file(*, document: Document, user: User, upload, extension: str, content_type: str) -> Attachment:
    """Add a checked upload to a piece while its drafter may still change it."""
    document = _locked(document)
    _require_editable(document, user)
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
    AuditEvent.objects.record(
        action=AuditEvent.Action.EDITED,
        actor=user,
        document=document,
        data={"fields": ["attachments"], "added": _describe(attachment)},
    )
    return attachment


@transaction.atomic
def remove_attachment(*, attachment: Attachment, user: User) -> None:
    """Take a file off a piece while its drafter may still change it."""
    document = _locked(attachment.document)
    _require_editable(document, user)
    described = _describe(attachment)
    stored = attachment.file.name
    attachment.delete()
    transaction.on_commit(lambda: Attachment.file.field.storage.delete(stored))
    AuditEvent.objects.record(
        action=AuditEvent.Action.EDITED,
        actor=user,
        document=document,
        data={"fields": ["attachments"], "removed": described},
    )


def _describe(attachment: Attachment) -> dict:
    return {"name": attachment.original_name, "size": attachment.size, "sha256": attachment.sha256}
