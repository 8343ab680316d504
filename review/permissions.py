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
from django.db.models import CharField, Prefetch, Q, Subquery, Value
from django.db.models.functions import Cast, Concat
from django.http import Http404
from django.utils.translation import gettext as _
from django_fsm import has_transition_perm

from accounts.models import Delegation, Membership
from accounts.services import group_name, role_group, role_group_drift
from audit.verify import register_integrity_check

from .models import Document, DocumentGroupObjectPermission, DocumentUserObjectPermission, StageReview
from .models.documents import permission_pk

Role = Membership.Role
Decision = StageReview.Decision
# The leaders: they read the statistics and open post-publication reviews.
LEADER_ROLES = {Role.PUBLICITY_LEADER, Role.PRINCIPAL_LEADER}
CODENAMES = ("view_document", "change_document", "review_document", "publish_document")


def expected_grants(document: Document) -> set[tuple[str, str]]:
    """Return the (permission codename, holder) pairs the piece must have; a holder is "user:<id>" or a group name.

    Reads the piece's stage reviews with their stages (prefetch `stage_reviews` so for many pieces): a stage of
    its route without a review was never reached, and is not where it waits, so grants nothing.
    """
    drafter = f"user:{document.drafter_id}"
    grants = {("view_document", drafter), ("view_document", group_name(Role.DRAFTER, document.department_id))}
    if document.state in Document.EDITABLE_STATES + Document.RESTARTABLE_STATES:
        grants.add(("change_document", drafter))
    reviews = document.read_reviews()
    route = list({review.stage_id: review.stage for review in reviews}.values())
    positions = {stage.pk: stage.position for stage in route}
    # In each round the piece reached every stage up to its first one not approved: where it waits, where it was
    # returned or rejected, or where it was withdrawn (that stage's review is cancelled then, like the later ones
    # it never reached).
    reached = set()
    for number in {review.round for review in reviews}:
        for review in sorted((r for r in reviews if r.round == number), key=lambda r: positions.get(r.stage_id, 0)):
            reached.add(review.stage_id)
            if review.decision != Decision.APPROVED:
                break
    for stage in route:
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
        stage = next((s for s in route if s.pk == document.current_stage_id), None)
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
    """Return the (permission codename, holder) pairs the piece has now (one query)."""
    users = DocumentUserObjectPermission.objects.filter(content_object=document).values_list(
        "permission__codename", Concat(Value("user:"), Cast("user_id", CharField()))
    )
    groups = DocumentGroupObjectPermission.objects.filter(content_object=document).values_list(
        "permission__codename", "group__name"
    )
    return set(users.union(groups, all=True))


def sync_grants(document: Document) -> None:
    """Make the piece's object permissions exactly what its route and state call for."""
    document.forget_reads()  # what the instance read before the change (its reviews, its checks) is stale now
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
    # Each permission is looked up inside the insert: a query fewer.
    permissions = {codename: Subquery(permission_pk(codename)) for codename in {c for c, _h in missing}}
    groups = _groups({holder for _c, holder in missing if not holder.startswith("user:")})
    user_rows, group_rows = [], []
    for codename, holder in missing:
        if holder.startswith("user:"):
            user_rows.append(
                DocumentUserObjectPermission(
                    content_object=document, user_id=int(holder[5:]), permission_id=permissions[codename]
                )
            )
        else:
            group_rows.append(
                DocumentGroupObjectPermission(
                    content_object=document, group=groups[holder], permission_id=permissions[codename]
                )
            )
    DocumentUserObjectPermission.objects.bulk_create(user_rows)
    DocumentGroupObjectPermission.objects.bulk_create(group_rows)


def _groups(names: set[str]) -> dict[str, Group]:
    """Return the role groups named, by name: those there in one query, any missing made."""
    groups = {group.name: group for group in Group.objects.filter(name__in=names)}
    for name in names - groups.keys():
        _prefix, role, department = name.split(":")
        groups[name] = role_group(role, None if department == "org" else int(department))
    return groups


def grant_drift(batch_size: int = 500) -> list[str]:
    """Return every open piece whose object permissions differ from what its route and state call for."""
    problems = []
    reviews = StageReview.objects.select_related("stage").only(
        "stage", "round", "decision", "document_id", "escalated_at", "cosignature",
        "stage__position", "stage__role", "stage__escalate_to",
    )  # fmt: skip
    documents = Document.objects.filter(state__in=Document.OPEN_STATES).prefetch_related(
        Prefetch("stage_reviews", queryset=reviews)
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
        return Document.objects.visible_to(user).with_related().select_related("current_revision").get(pk=pk)
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
    return user.is_superuser or audit_permission(user).exists()


def audit_permission(user):
    """Return the audit log's permission if `user` holds it, themselves or through a group: what user.has_perm
    asks of the model backend, in one query rather than two (for all of the user's permissions)."""
    granted = Permission.objects.filter(Q(user=user) | Q(group__user=user))
    return granted.filter(content_type__app_label="audit", codename="view_auditevent")


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
