from functools import cached_property, partial

from django.db.models import Q
from django.utils.functional import SimpleLazyObject

from accounts.models import Delegation, Membership

from .models import Document, Notification
from .models.choices import REVIEWER_ROLES
from .permissions import LEADER_ROLES, can_audit, can_keep_register

Role = Membership.Role


class Navigation:
    """What the navigation shows of one user: their roles (one query) and, only where a role calls for it and only
    when the template asks, the count of what waits for them."""

    def __init__(self, user):
        self.user = user

    @cached_property
    def roles(self) -> set[str]:
        """The roles the user holds, and those lent to them now (one query)."""
        lent = Delegation.objects.in_force().filter(deputy=self.user).values("membership")
        held_or_lent = Membership.objects.filter(Q(user=self.user) | Q(pk__in=lent))
        return set(held_or_lent.values_list("role", flat=True))

    @cached_property
    def is_reviewer(self) -> bool:
        return bool(self.roles & set(REVIEWER_ROLES))

    @cached_property
    def is_drafter(self) -> bool:
        return Role.DRAFTER in self.roles

    @cached_property
    def is_publisher(self) -> bool:
        return Role.PUBLISHER in self.roles

    @cached_property
    def queue_count(self) -> int:
        return Document.objects.awaiting(self.user).count() if self.is_reviewer else 0

    @cached_property
    def publish_count(self) -> int:
        if not self.is_publisher:
            return 0
        return Document.objects.to_publish(self.user).filter(state=Document.State.APPROVED).count()

    @cached_property
    def returned_count(self) -> int:
        if Role.DRAFTER not in self.roles:
            return 0
        return Document.objects.filter(drafter=self.user, state=Document.State.RETURNED).count()

    @cached_property
    def unread_count(self) -> int:
        return Notification.objects.filter(recipient=self.user, read_at=None).count()


def navigation(request):
    """Give templates what the navigation shows, each part worked out only if asked for."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    nav = Navigation(user)
    shown = (
        "queue_count", "publish_count", "returned_count", "unread_count", "is_reviewer", "is_publisher", "is_drafter",
    )  # fmt: skip
    return {
        **{name: SimpleLazyObject(partial(getattr, nav, name)) for name in shown},
        "can_audit": SimpleLazyObject(lambda: can_audit(user)),
        "can_keep_register": SimpleLazyObject(lambda: can_keep_register(user)),
        "can_see_statistics": SimpleLazyObject(lambda: can_audit(user) or bool(nav.roles & LEADER_ROLES)),
    }
