"""User actions on people and roles: each writes its audit event."""

import datetime

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.models import AuditEvent

from .models import AuditAction, Delegation, Department, Membership, User

# Roles whose holders read everything, whatever department they sit in: permissions by "app_label.codename".
GLOBAL_PERMISSIONS = {Membership.Role.AUDITOR: ["review.view_document", "audit.view_auditevent"]}
# Roles that act at review stages: the ones a reviewer may lend to a deputy.
DELEGABLE_ROLES = (
    Membership.Role.INFORMATION_OFFICER,
    Membership.Role.DEPARTMENT_HEAD,
    Membership.Role.PUBLICITY_LEADER,
    Membership.Role.PRINCIPAL_LEADER,
)
# The longest a delegation may run: an absence, not a second holder of the role (that is a membership).
LONGEST_DELEGATION = datetime.timedelta(days=92)
# Roles that serve the whole organisation even when a department is named.
ORGANISATION_ROLES = {
    Membership.Role.PUBLICITY_LEADER,
    Membership.Role.PRINCIPAL_LEADER,
    Membership.Role.AUDITOR,
}


def group_name(role: str, department_id: int | None) -> str:
    """Return the name of the permission group that mirrors `role` in a department (or the organisation)."""
    return Membership.group_name(role, None if role in ORGANISATION_ROLES else department_id)


def role_group(role: str, department_id: int | None) -> Group:
    """Return the permission group that mirrors `role` in a department, creating it on first use."""
    group, created = Group.objects.get_or_create(name=group_name(role, department_id))
    if created and role in GLOBAL_PERMISSIONS:
        for permission in GLOBAL_PERMISSIONS[role]:
            app_label, codename = permission.split(".")
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return group


def wanted_group_names(user: User) -> set[str]:
    """Return the names of the role groups the user's memberships call for."""
    return {group_name(m.role, m.department_id) for m in user.memberships.all()}


def sync_role_groups(user: User) -> None:
    """Make the user's role groups match their memberships exactly."""
    wanted = {role_group(m.role, m.department_id) for m in user.memberships.all()}
    current = set(user.groups.filter(name__startswith="role:"))
    user.groups.remove(*(current - wanted))
    user.groups.add(*(wanted - current))


def role_group_drift() -> list[str]:
    """Return each user whose role groups differ from what their memberships call for (empty when none)."""
    problems = []
    users = User.objects.prefetch_related("memberships", "groups")
    for user in users:
        current = {group.name for group in user.groups.all() if group.name.startswith("role:")}
        wanted = wanted_group_names(user)
        if current != wanted:
            problems.append(
                f"{user.username} is in role groups {sorted(current - wanted)} without a membership "
                f"and lacks {sorted(wanted - current)}"
            )
    return problems


def _described(membership: Membership) -> dict:
    return {
        "user": membership.user.username,
        "role": membership.role,
        "department": membership.department and membership.department.code,
    }


@transaction.atomic
def add_membership(*, user: User, role: str, department: Department | None, by: User | None) -> Membership:
    """Give `user` a role in a department (or organisation-wide) and record who did it."""
    membership, created = Membership.objects.get_or_create(user=user, role=role, department=department)
    if created:
        sync_role_groups(user)
        AuditEvent.objects.record(
            action=AuditAction.MEMBERSHIP_ADDED,
            actor=by,
            obj=user,
            scope=str(department.pk) if department else "",
            data=_described(membership),
        )
    return membership


@transaction.atomic
def remove_membership(*, membership: Membership, by: User | None) -> None:
    """Take a role away from its holder and record who did it (the role's delegations are revoked first)."""
    user, department, data = membership.user, membership.department, _described(membership)
    for delegation in membership.delegations.filter(revoked_at__isnull=True):
        revoke_delegation(delegation=delegation, by=by, check=False)
    membership.delete()
    sync_role_groups(user)
    AuditEvent.objects.record(
        action=AuditAction.MEMBERSHIP_REMOVED,
        actor=by,
        obj=user,
        scope=str(department.pk) if department else "",
        data=data,
    )


# Delegation: a reviewer's role lent to a deputy for some days.


def _delegation_data(delegation: Delegation) -> dict:
    return {
        "delegation": delegation.pk,
        **_described(delegation.membership),
        "deputy": delegation.deputy.username,
        "starts_on": delegation.starts_on.isoformat(),
        "ends_on": delegation.ends_on.isoformat(),
        "reason": delegation.reason,
    }


def check_delegation(
    *, membership: Membership, deputy: User, starts_on: datetime.date, ends_on: datetime.date, by: User
) -> None:
    """Raise ValidationError (keyed by field) when `by` may not lend `membership` to `deputy` for those days."""
    if by.pk != membership.user_id and not by.is_superuser:
        raise ValidationError(_("Only the holder of a role, or an administrator, may delegate it."))
    errors = {}
    if membership.role not in DELEGABLE_ROLES:
        errors["membership"] = _("Only a reviewer's role can be delegated.")
    if deputy.pk == membership.user_id:
        errors["deputy"] = _("Choose someone else as your deputy.")
    elif not deputy.is_active:
        errors["deputy"] = _("This person's account is not active.")
    if ends_on < starts_on:
        errors["ends_on"] = _("The last day comes before the first.")
    elif ends_on < timezone.localdate():
        errors["ends_on"] = _("The last day has passed already.")
    elif ends_on - starts_on > LONGEST_DELEGATION:
        errors["ends_on"] = _("A delegation runs for %(days)s days at most; for longer, give the person the role.") % {
            "days": LONGEST_DELEGATION.days
        }
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def delegate(
    *, membership: Membership, deputy: User, starts_on: datetime.date, ends_on: datetime.date, reason: str, by: User
) -> Delegation:
    """Lend a reviewer's role (`membership`) to `deputy` from `starts_on` to `ends_on`, both days included.

    The holder of the role sets it up for themselves; an administrator may for anyone (check_delegation).
    """
    check_delegation(membership=membership, deputy=deputy, starts_on=starts_on, ends_on=ends_on, by=by)
    delegation = Delegation.objects.create(
        membership=membership,
        deputy=deputy,
        group=role_group(membership.role, membership.department_id),
        starts_on=starts_on,
        ends_on=ends_on,
        reason=reason,
        created_by=by,
    )
    AuditEvent.objects.record(
        action=AuditAction.DELEGATED,
        actor=by,
        obj=membership.user,
        scope=str(membership.department_id or ""),
        data=_delegation_data(delegation),
    )
    return delegation


@transaction.atomic
def revoke_delegation(*, delegation: Delegation, by: User | None, check: bool = True) -> None:
    """End a delegation now (its delegator, its deputy or an administrator may; `check=False` when the role
    itself is being removed)."""
    allowed = by is not None and (by.pk in (delegation.membership.user_id, delegation.deputy_id) or by.is_superuser)
    if check and not allowed:
        raise ValidationError(_("Only the delegator, the deputy or an administrator may revoke a delegation."))
    if delegation.revoked_at is not None:
        return
    delegation.revoked_at = timezone.now()
    delegation.save(update_fields=["revoked_at"])
    AuditEvent.objects.record(
        action=AuditAction.DELEGATION_REVOKED,
        actor=by,
        obj=delegation.membership.user,
        scope=str(delegation.membership.department_id or ""),
        data=_delegation_data(delegation),
    )


def delegators(deputy: User, group_names, at=None) -> list[User]:
    """Return the people whose role (one of the groups named) `deputy` holds by delegation now, first set up first."""
    delegations = (
        Delegation.objects.in_force(at)
        .filter(deputy=deputy, group__name__in=list(group_names))
        .select_related("membership__user")
        .order_by("created_at", "pk")
    )
    return [delegation.membership.user for delegation in delegations]
