"""API tokens: issued at POST /api/v1/auth/token/, sent as `Authorization: Token <key>`."""

import datetime
import secrets

from axes.handlers.proxy import AxesProxyHandler
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from .models import ApiToken, User, token_digest


def issue_token(user: User) -> str:
    """Return a new API key for `user`; only its digest is kept. Their expired keys are removed."""
    key = secrets.token_hex(20)
    now = timezone.now()
    user.api_tokens.filter(expires_at__lte=now).delete()
    ApiToken.objects.create(
        user=user,
        prefix=key[:8],
        digest=token_digest(key),
        password_stamp=user.get_session_auth_hash(),
        expires_at=now + ApiToken.lifetime(),
    )
    return key


class TokenAuthentication(authentication.TokenAuthentication):
    """`Authorization: Token <key>`, checked against the stored digests."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            user, _token = result
            if AxesProxyHandler.is_locked(request, {"username": user.get_username()}):
                raise exceptions.AuthenticationFailed(_("Too many failed logins: this account is locked for a while."))
        return result

    def authenticate_credentials(self, key):
        token = ApiToken.objects.select_related("user").filter(digest=token_digest(key)).first()
        if token is None or not token.is_current():
            raise exceptions.AuthenticationFailed(_("Invalid or expired token; ask for a new one."))
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > datetime.timedelta(minutes=5):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token
