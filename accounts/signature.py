"""The electronic signature: a signer re-enters their password, checked exactly as a login is.

A wrong password is a failed login (recorded, counted toward the lockout); a locked-out signer cannot sign.
The check needs no request: the address and user agent come from the audit context of the current request.
"""

from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from audit.context import current_request


class SignatureRefused(Exception):
    """The password given to sign was wrong, or the signer is locked out."""

    def __init__(self, message, *, locked_out: bool = False):
        super().__init__(message)
        self.locked_out = locked_out


def check_signature(user, password: str) -> None:
    """Return when `password` is `user`'s and they may sign; otherwise raise SignatureRefused."""
    context = current_request.get()
    request = HttpRequest()
    request.META.update(REMOTE_ADDR=context.ip_address or "127.0.0.1", HTTP_USER_AGENT=context.user_agent)
    signer = authenticate(request, username=user.get_username(), password=password)
    if getattr(request, "axes_locked_out", False):
        raise SignatureRefused(
            _("Too many wrong passwords: signing is locked for a while. Try again later."), locked_out=True
        )
    if signer is None or signer.pk != user.pk:
        raise SignatureRefused(_("That password is not correct; nothing was signed."))
