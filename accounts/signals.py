"""Logins, logouts, failed logins and lockouts go into the audit log (Django's auth signals are the only hook)."""

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.core.cache import cache
from django.dispatch import receiver

from audit.models import AuditEvent

from .models import AuditAction


@receiver(user_logged_in)
def record_login(sender, request, user, **kwargs):
    AuditEvent.objects.record(action=AuditAction.LOGIN, actor=user)


@receiver(user_logged_out)
def record_logout(sender, request, user, **kwargs):
    if user is not None:
        AuditEvent.objects.record(action=AuditAction.LOGOUT, actor=user)


@receiver(user_login_failed)
def record_failed_login(sender, credentials, request=None, **kwargs):
    # Once an address or a user name is locked out its attempts are refused unheard: the lockout is recorded
    # once (below), so that a flood of attempts cannot grow the log without limit.
    if getattr(request, "axes_locked_out", False):
        return
    # Never the password: only the name that was tried.
    AuditEvent.objects.record(
        action=AuditAction.LOGIN_FAILED, data={"username": str(credentials.get("username", ""))[:150]}
    )


@receiver(user_locked_out)
def record_lockout(sender, request, username, ip_address, **kwargs):
    # Axes signals the lockout again at every refused attempt; the log records it once per lockout.
    if cache.add(f"lockout-recorded:{username}:{ip_address}", True, settings.AXES_COOLOFF_TIME.total_seconds()):
        AuditEvent.objects.record(action=AuditAction.LOCKED_OUT, data={"username": str(username or "")[:150]})
