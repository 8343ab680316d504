import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.utils.translation import gettext as _


class SessionTimeoutMiddleware:
    """End a session after a spell of inactivity, and in any case a fixed time after login."""

    # Refresh the last-seen mark at most this often, so that not every request writes the session.
    RESOLUTION = 60

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = time.time()
            started = request.session.setdefault("started_at", now)
            last_seen = request.session.get("last_seen", now)
            idle = now - last_seen > settings.SESSION_IDLE_TIMEOUT.total_seconds()
            if idle or now - started > settings.SESSION_COOKIE_AGE:
                logout(request)
                messages.info(request, _("Your session has ended. Please log in again."))
                return redirect_to_login(request.get_full_path())
            if now - last_seen >= self.RESOLUTION or "last_seen" not in request.session:
                request.session["last_seen"] = now
        return self.get_response(request)
