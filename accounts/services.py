"""User actions on people and roles: each writes its audit event."""

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from audit.models import AuditEvent

from .models import AuditAction, Department, Membership, User

# Roles whose holders read everything, whatever department they sit in: permissions by "app_label.codename".
GLOBAL_PERMISSIONS = {Membership.Role.AUDITOR: ["review.view_document", "audit.view_auditevent"]}
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
    """Take a role away from its holder and record who did it."""
    user, department, data = membership.user, membership.department, _described(membership)
    membership.delete()
    sync_role_groups(user)
    AuditEvent.objects.record(
        action=AuditAction.MEMBERSHIP_REMOVED,
        actor=by,
        obj=user,
        scope=str(department.pk) if department else "",
        data=data,
    )
