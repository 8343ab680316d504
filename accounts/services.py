"""User actions on people and roles: each writes its audit event."""

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from review.models import AuditEvent

from .models import Department, Membership, User

# Roles whose holders see every piece read-only, whatever department they sit in.
GLOBAL_PERMISSIONS = {Membership.Role.AUDITOR: ["view_document"]}
# Roles that serve the whole organisation even when a department is named.
ORGANISATION_ROLES = {
    Membership.Role.PUBLICITY_LEADER,
    Membership.Role.PRINCIPAL_LEADER,
    Membership.Role.AUDITOR,
}


def role_group(role: str, department_id: int | None) -> Group:
    """Return the permission group that mirrors `role` in a department, creating it on first use."""
    if role in ORGANISATION_ROLES:
        department_id = None
    group, created = Group.objects.get_or_create(name=Membership.group_name(role, department_id))
    if created and role in GLOBAL_PERMISSIONS:
        group.permissions.add(
            *Permission.objects.filter(
                content_type__app_label="review", codename__in=GLOBAL_PERMISSIONS[role]
            )
        )
    return group


def sync_role_groups(user: User) -> None:
    """Make the user's role groups match their memberships exactly."""
    wanted = {role_group(m.role, m.department_id) for m in user.memberships.all()}
    current = set(user.groups.filter(name__startswith="role:"))
    user.groups.remove(*(current - wanted))
    user.groups.add(*(wanted - current))


@transaction.atomic
def add_membership(*, user: User, role: str, department: Department | None, by: User | None) -> Membership:
    """Give `user` a role in a department (or organisation-wide) and record who did it."""
    membership, created = Membership.objects.get_or_create(user=user, role=role, department=department)
    if created:
        sync_role_groups(user)
        AuditEvent.objects.record(
            actor=by,
            action=AuditEvent.Action.MEMBERSHIP_ADDED,
            data={"user": user.username, "role": role, "department": department and department.code},
        )
    return membership


@transaction.atomic
def remove_membership(*, membership: Membership, by: User | None) -> None:
    """Take a role away from its holder and record who did it."""
    user = membership.user
    data = {
        "user": user.username,
        "role": membership.role,
        "department": membership.department and membership.department.code,
    }
    membership.delete()
    sync_role_groups(user)
    AuditEvent.objects.record(actor=by, action=AuditEvent.Action.MEMBERSHIP_REMOVED, data=data)
