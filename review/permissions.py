"""Object permissions on pieces: derived from each piece's route and state, never granted by hand.

`expected_grants()` says what a piece's grants must be; `sync_grants()` makes them so after every change of
state, and `grant_drift()` reports every open piece whose grants differ (run by the tests and by verify_audit).

- The drafter sees their piece, and may change it until it is published (after submission, a change restarts its
  review).
- The drafters of its department see it.
- The role group of every stage the piece has reached (in any round) sees it; the current stage's group acts.
- While it is in review, the department's head sees it at every stage, to reassign a stage when someone is away.
- Once approved, the publishers (of the department and of the whole organisation) see it and may publish it.
"""

from functools import reduce
from operator import or_

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, Q
from django.http import Http404
from django.utils.translation import gettext as _
from django_fsm import has_transition_perm

from accounts.models import Delegation, Membership
from accounts.services import group_name, role_group, role_group_drift
from audit.verify import register_integrity_check

from .models import Document, DocumentGroupObjectPermission, DocumentUserObjectPermission, StageReview

Role = Membership.Role
Decision = StageReview.Decision
# The leaders: they read the statistics and open post-publication reviews.
LEADER_ROLES = {Role.PUBLICITY_LEADER, Role.PRINCIPAL_LEADER}
CODENAMES = ("view_document", "change_document", "review_document", "publish_document")


def expected_grants(document: Document) -> set[tuple[str, str]]:
    """Return the (permission codename, holder) pairs the piece must have; a holder is "user:<id>" or a group name.

    Reads the piece's route and stage reviews (prefetch them as `route` and `stage_reviews` for many pieces).
    """
    drafter = f"user:{document.drafter_id}"
    grants = {("view_document", drafter), ("view_document", group_name(Role.DRAFTER, document.department_id))}
    if document.state in Document.EDITABLE_STATES + Document.RESTARTABLE_STATES:
        grants.add(("change_document", drafter))
    reviews = list(document.stage_reviews.all())
    positions = {stage.pk: stage.position for stage in document.route.all()}
    # In each round the piece reached every stage up to its first one not approved: where it waits, where it was
    # returned or rejected, or where it was withdrawn (that stage's review is cancelled then, like the later ones
    # it never reached).
    reached = set()
    for number in {review.round for review in reviews}:
        for review in sorted((r for r in reviews if r.round == number), key=lambda r: positions.get(r.stage_id, 0)):
            reached.add(review.stage_id)
            if review.decision != Decision.APPROVED:
                break
    for stage in document.route.all():
        group = group_name(stage.role, document.department_id)
        if stage.pk in reached:
            grants.add(("view_document", group))
        if document.state == Document.State.IN_REVIEW and stage.pk == document.current_stage_id:
            grants.add(("review_document", group))
    if document.state == Document.State.IN_REVIEW:
        grants.add(("view_document", group_name(Role.DEPARTMENT_HEAD, document.department_id)))
        # An overdue stage escalated to a role: that role sees the piece, to see that it moves on.
        current = next(
            (
                r
                for r in reviews
                if r.round == document.round and r.stage_id == document.current_stage_id and not r.cosignature
            ),
            None,
        )
        stage = next((s for s in document.route.all() if s.pk == document.current_stage_id), None)
        if current is not None and current.escalated_at and stage is not None and stage.escalate_to:
            grants.add(("view_document", group_name(stage.escalate_to, document.department_id)))
    this_round = [review for review in reviews if review.round == document.round]
    was_approved = bool(this_round) and all(review.decision == Decision.APPROVED for review in this_round)
    if document.state in (Document.State.APPROVED, Document.State.PUBLISHED) or (
        document.state == Document.State.WITHDRAWN and was_approved
    ):
        for group in publisher_groups(document):
            grants.add(("view_document", group))
            if document.state != Document.State.WITHDRAWN:
                grants.add(("publish_document", group))
    return grants


def publisher_groups(document: Document) -> tuple[str, str]:
    """Return the groups of the publishers who may publish the piece: its department's and the organisation's."""
    return group_name(Role.PUBLISHER, document.department_id), group_name(Role.PUBLISHER, None)


def may_act_at(document: Document, stage) -> Q:
    """Return the condition on people who hold `stage`'s role for the piece: its holders, and their deputies while
    a delegation holds (four eyes is for review_refusal to apply)."""
    group = group_name(stage.role, document.department_id)
    deputies = Delegation.objects.in_force().filter(group__name=group).values("deputy")
    return Q(groups__name=group) | Q(pk__in=deputies)


def current_grants(document: Document) -> set[tuple[str, str]]:
    """Return the (permission codename, holder) pairs the piece has now."""
    users = DocumentUserObjectPermission.objects.filter(content_object=document).values_list(
        "permission__codename", "user_id"
    )
    groups = DocumentGroupObjectPermission.objects.filter(content_object=document).values_list(
        "permission__codename", "group__name"
    )
    return {(codename, f"user:{user_id}") for codename, user_id in users} | set(groups)


def sync_grants(document: Document) -> None:
    """Make the piece's object permissions exactly what its route and state call for."""
    expected, current = expected_grants(document), current_grants(document)
    extra, missing = current - expected, expected - current
    user_extra = [Q(permission__codename=c, user_id=int(h[5:])) for c, h in extra if h.startswith("user:")]
    group_extra = [Q(permission__codename=c, group__name=h) for c, h in extra if not h.startswith("user:")]
    if user_extra:
        DocumentUserObjectPermission.objects.filter(reduce(or_, user_extra), content_object=document).delete()
    if group_extra:
        DocumentGroupObjectPermission.objects.filter(reduce(or_, group_extra), content_object=document).delete()
    if not missing:
        return
    permissions = {
        p.codename: p
        for p in Permission.objects.filter(content_type__app_label="review", codename__in={c for c, _h in missing})
    }
    user_rows, group_rows = [], []
    for codename, holder in missing:
        if holder.startswith("user:"):
            user_rows.append(
                DocumentUserObjectPermission(
                    content_object=document, user_id=int(holder[5:]), permission=permissions[codename]
                )
            )
        else:
            group_rows.append(
                DocumentGroupObjectPermission(
                    content_object=document, group=_group(holder), permission=permissions[codename]
                )
            )
    DocumentUserObjectPermission.objects.bulk_create(user_rows)
    DocumentGroupObjectPermission.objects.bulk_create(group_rows)


def _group(name: str) -> Group:
    _prefix, role, department = name.split(":")
    return role_group(role, None if department == "org" else int(department))


def grant_drift(batch_size: int = 500) -> list[str]:
    """Return every open piece whose object permissions differ from what its route and state call for."""
    problems = []
    documents = Document.objects.filter(state__in=Document.OPEN_STATES).prefetch_related(
        "route",
        Prefetch(
            "stage_reviews",
            queryset=StageReview.objects.only(
                "stage_id", "round", "decision", "document_id", "escalated_at", "cosignature"
            ),
        ),
    )
    for document in documents.iterator(chunk_size=batch_size):
        expected, current = expected_grants(document), current_grants(document)
        if expected != current:
            problems.append(
                f"piece {document.pk} ({document.state}): unexpected {sorted(current - expected)}, "
                f"missing {sorted(expected - current)}"
            )
    return problems


# Reading with permission.


def get_visible_document(user, pk) -> Document:
    """Return the piece if `user` may see it; otherwise 404, which says nothing of its existence."""
    try:
        return Document.objects.visible_to(user).with_related().get(pk=pk)
    except (Document.DoesNotExist, ValueError):
        raise Http404 from None


def actions_for(document: Document, user) -> list[str]:
    """Return what `user` may do with the piece now: the buttons its page shows, the API's `actions`."""
    actions = []
    if has_transition_perm(document.submit, user):
        actions += ["edit", "submit"]
    elif has_transition_perm(document.restart, user):
        actions.append("edit")
    if document.state == Document.State.IN_REVIEW and document.review_refusal(user) is None:
        actions += ["correct", "approve", "return", "reject"]
    if has_transition_perm(document.publish, user):
        actions.append("publish")
    if has_transition_perm(document.withdraw, user):
        actions.append("withdraw")
    return actions


def can_audit(user) -> bool:
    """Return whether `user` may read and download the audit log and the register: auditors and superusers."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or user.has_perm("audit.view_auditevent")


def require_auditor(user) -> None:
    if not can_audit(user):
        raise PermissionDenied(_("Only auditors can read the audit log."))


def can_keep_register(user) -> bool:
    """Return whether `user` may read and download the publication register: auditors, superusers and publishers."""
    if can_audit(user):
        return True
    return user.is_authenticated and user.is_active and user.memberships.filter(role=Role.PUBLISHER).exists()


def can_see_statistics(user) -> bool:
    """Return whether `user` may read the statistics for rewards and penalties: leaders, auditors, superusers."""
    if can_audit(user):
        return True
    return user.is_authenticated and user.is_active and user.memberships.filter(role__in=LEADER_ROLES).exists()


register_integrity_check(grant_drift)
register_integrity_check(role_group_drift)
