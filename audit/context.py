"""Who is on the other end of the current request: the address, user agent and request id every event records."""

import contextvars
import ipaddress
import re
import uuid
from dataclasses import dataclass

from django.conf import settings

# A client may name its request (X-Request-ID), but what is stored in the log must be plain and short.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


@dataclass(frozen=True)
class RequestContext:
    ip_address: str = ""
    user_agent: str = ""
    request_id: str = ""

    @classmethod
    def from_request(cls, request) -> "RequestContext":
        """Return the context of a request; a client's request id is kept only when it is plain, else replaced."""
        request_id = request.META.get("HTTP_X_REQUEST_ID", "")
        if not REQUEST_ID.fullmatch(request_id):
            request_id = uuid.uuid4().hex
        return cls(
            ip_address=client_address(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            request_id=request_id,
        )


def client_address(request) -> str:
    """Return the address of the client: the connection's, or behind `TRUSTED_PROXIES` proxies (nginx in front
    of several app servers), the one the nearest of them put in X-Forwarded-For. Entries a client wrote there
    itself come before those and are never read; a header that is short or malformed falls back to the
    connection's address. (django-axes counts failed logins by this address too.)"""
    remote = request.META.get("REMOTE_ADDR") or ""
    if not settings.TRUSTED_PROXIES:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(forwarded) < settings.TRUSTED_PROXIES:
        return remote
    try:
        return str(ipaddress.ip_address(forwarded[-settings.TRUSTED_PROXIES]))
    except ValueError:
        return remote


current_request: contextvars.ContextVar[RequestContext] = contextvars.ContextVar(
    "audit_request_context", default=RequestContext()
)
