"""Login throttling: django-axes' database handler, plus a lock on an address that fails too often.

Axes locks a user name at one address after AXES_FAILURE_LIMIT failures. Someone trying many user names from
one address would never reach that limit, so the address itself is locked after LOGIN_ADDRESS_FAILURE_LIMIT
failures (whatever the names) within the same cool-off period. The counts live in the database, shared by
every app server.
"""

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_ip_address
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum


class LockoutHandler(AxesDatabaseHandler):
    def is_locked(self, request, credentials=None) -> bool:
        return super().is_locked(request, credentials) or self.address_failures(request) >= (
            settings.LOGIN_ADDRESS_FAILURE_LIMIT
        )

    def address_failures(self, request) -> int:
        """Return the failed logins from the request's address within the cool-off period, whatever the names."""
        address = getattr(request, "axes_ip_address", None) or get_client_ip_address(request)
        attempts = AccessAttempt.objects.filter(ip_address=address, attempt_time__gte=get_cool_off_threshold(request))
        return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
