"""Login throttling: django-axes' database handler, plus a lock on an address that fails too often.

Axes locks a user name at one address after AXES_FAILURE_LIMIT failures. Someone trying many user names from
one address would never reach that limit, so the address itself is locked after LOGIN_ADDRESS_FAILURE_LIMIT
failures (whatever the names) within the same cool-off period. The counts live in the database, shared by
every app server.
"""

from functools import reduce
from operator import or_

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_ip_address, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Q, Sum


class LockoutHandler(AxesDatabaseHandler):
    def is_locked(self, request, credentials=None) -> bool:
        """Return whether the name at this address (axes' count) or the address itself is locked: one query for
        both counts, at every login and every signature."""
        named, from_address = self.failures(request, credentials)
        locked = settings.AXES_LOCK_OUT_AT_FAILURE and named >= get_failure_limit(request, credentials)
        return locked or from_address >= settings.LOGIN_ADDRESS_FAILURE_LIMIT

    def failures(self, request, credentials=None) -> tuple[int, int]:
        """Return axes' count of failures (the largest of its lockout parameters', as its get_failures) and the
        failed logins from the request's address within the cool-off period, whatever the names."""
        address = getattr(request, "axes_ip_address", None) or get_client_ip_address(request)
        recent = Q(ip_address=address, attempt_time__gte=get_cool_off_threshold(request))
        named = [Q(pk__in=attempts.values("pk")) for attempts in self.get_user_attempts(request, credentials)]
        sums = AccessAttempt.objects.filter(reduce(or_, named, recent)).aggregate(
            address=Sum("failures_since_start", filter=recent),
            **{f"named_{n}": Sum("failures_since_start", filter=condition) for n, condition in enumerate(named)},
        )
        from_address = sums.pop("address") or 0
        return max((count or 0 for count in sums.values()), default=0), from_address
