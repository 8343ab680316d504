from django.utils.functional import SimpleLazyObject

from .models import Document, Notification
from .models.choices import REVIEWER_ROLES
from .permissions import can_audit, can_keep_register


def navigation(request):
    """Give templates the size of the user's queue and what they may open, each worked out only if asked for."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "queue_count": SimpleLazyObject(lambda: Document.objects.awaiting(user).count()),
        "unread_count": SimpleLazyObject(lambda: Notification.objects.filter(recipient=user, read_at=None).count()),
        "can_audit": SimpleLazyObject(lambda: can_audit(user)),
        "can_keep_register": SimpleLazyObject(lambda: can_keep_register(user)),
        "is_reviewer": SimpleLazyObject(lambda: user.memberships.filter(role__in=REVIEWER_ROLES).exists()),
    }
