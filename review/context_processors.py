from functools import cached_property, partial

from django.db.models import Exists, Func, Q, Subquery
from django.utils.functional import SimpleLazyObject

from accounts.models import Delegation, Membership, User

from .models import Document, Notification
from .models.choices import REVIEWER_ROLES
from .permissions import LEADER_ROLES, audit_permission

Role = Membership.Role
# A badge counts at most this many pieces ("99+" beyond): the count then costs the same however long the queue.
BADGE_LIMIT = 100


class Navigation:
    """What the navigation shows of one user: their roles (one query) and, only where a role calls for it and only
    when the template asks, the count of what waits for them."""

    def __init__(self, user):
        self.user = user
        self.counted = {}  # what the view counted already, e.g. {"queue_count": 12}

    @cached_property
    def roles_in_departments(self) -> set[tuple[str, int | None, bool]]:
        """The roles the user holds (held True) and those lent to them now (held False), each with its department
        (None: the whole organisation): one query."""
        lent = Delegation.objects.in_force().filter(deputy=self.user).values("membership")
        held_or_lent = Membership.objects.filter(Q(user=self.user) | Q(pk__in=lent))
        rows = held_or_lent.values_list("role", "department_id", "user_id")
        return {(role, department, user_id == self.user.pk) for role, department, user_id in rows}

    @cached_property
    def memberships(self) -> set[tuple[str, bool]]:
        """The roles the user holds (held True) and those lent to them now (held False)."""
        return {(role, held) for role, _department, held in self.roles_in_departments}

    @cached_property
    def held(self) -> set[tuple[str, int | None]]:
        """The roles the user holds themselves, each with its department (None: the whole organisation)."""
        return {(role, department) for role, department, held in self.roles_in_departments if held}

    @cached_property
    def roles(self) -> set[str]:
        """The roles the user holds, and those lent to them now."""
        return {role for role, _held in self.memberships}

    @cached_property
    def figures(self) -> dict:
        """The counts the navigation shows and whether the user may audit, in one query; each count only where a
        role calls for it and the view has not counted it already (the queue's page counts its pieces anyway)."""
        wanted = {"unread_count": _count(Notification.objects.filter(recipient=self.user, read_at=None))}
        if not self.user.is_superuser:
            wanted["can_audit"] = Exists(audit_permission(self.user))
        if self.is_reviewer and "queue_count" not in self.counted:
            wanted["queue_count"] = _count(Document.objects.awaiting(self.user), limit=BADGE_LIMIT)
        if self.is_publisher:
            wanted["publish_count"] = _count(
                Document.objects.to_publish(self.user).filter(state=Document.State.APPROVED), limit=BADGE_LIMIT
            )
        if self.is_drafter:
            wanted["returned_count"] = _count(Document.objects.filter(drafter=self.user, state=Document.State.RETURNED))
        return {**self.counted, **User.objects.filter(pk=self.user.pk).values(**wanted).get()}

    @cached_property
    def can_audit(self) -> bool:
        # As permissions.can_audit: superusers, and active users holding the permission.
        return self.user.is_active and (self.user.is_superuser or bool(self.figures["can_audit"]))

    @cached_property
    def can_keep_register(self) -> bool:
        # As permissions.can_keep_register: auditors, and the publishers (their own role, not a lent one).
        return self.can_audit or (self.user.is_active and (Role.PUBLISHER, True) in self.memberships)

    @cached_property
    def can_see_statistics(self) -> bool:
        return self.can_audit or bool(self.roles & LEADER_ROLES)

    @cached_property
    def is_reviewer(self) -> bool:
        return bool(self.roles & set(REVIEWER_ROLES))

    @cached_property
    def is_drafter(self) -> bool:
        return Role.DRAFTER in self.roles

    @cached_property
    def is_publisher(self) -> bool:
        return Role.PUBLISHER in self.roles

    @property
    def queue_count(self) -> int | str:
        return _badge(self.figures.get("queue_count", 0))

    @property
    def publish_count(self) -> int | str:
        return _badge(self.figures.get("publish_count", 0))

    @property
    def returned_count(self) -> int:
        return self.figures.get("returned_count", 0)

    @property
    def unread_count(self) -> int:
        return self.figures["unread_count"]

    @classmethod
    def of(cls, request) -> "Navigation":
        """Return the request's navigation: one per request, so a view can hand it what it has counted."""
        if not hasattr(request, "_navigation"):
            request._navigation = cls(request.user)
        return request._navigation


def _count(queryset, limit: int | None = None) -> Subquery:
    """Return the count of `queryset` as a subquery (COUNT without GROUP BY: one row, whatever it holds), counting
    at most `limit` rows when given (the database stops reading there)."""
    if limit is not None:
        queryset = queryset.model.objects.filter(pk__in=queryset.order_by().values("pk")[:limit])
    return Subquery(queryset.order_by().annotate(count=Func("pk", function="COUNT")).values("count")[:1])


def _badge(count: int) -> int | str:
    """Return what a badge shows for `count`: the number, or "99+" from BADGE_LIMIT on."""
    return f"{BADGE_LIMIT - 1}+" if count >= BADGE_LIMIT else count


def navigation(request):
    """Give templates what the navigation shows, each part worked out only if asked for."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    nav = Navigation.of(request)
    shown = (
        "queue_count", "publish_count", "returned_count", "unread_count", "is_reviewer", "is_publisher", "is_drafter",
        "can_audit", "can_keep_register", "can_see_statistics",
    )  # fmt: skip
    return {name: SimpleLazyObject(partial(getattr, nav, name)) for name in shown}
