"""Logins, logouts and failed logins go into the audit log (Django's auth signals are the only hook)."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from review.models import AuditEvent


@receiver(user_logged_in)
def record_login(sender, request, user, **kwargs):
    AuditEvent.objects.record(action=AuditEvent.Action.LOGIN, actor=user)


@receiver(user_logged_out)
def record_logout(sender, request, user, **kwargs):
    if user is not None:
        AuditEvent.objects.record(action=AuditEvent.Action.LOGOUT, actor=user)


@receiver(user_login_failed)
def record_failed_login(sender, credentials, request=None, **kwargs):
    # Never the password: only the name that was tried.
    AuditEvent.objects.record(
        action=AuditEvent.Action.LOGIN_FAILED, data={"username": str(credentials.get("username", ""))[:150]}
    )
