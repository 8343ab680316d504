"""Who is on the other end of the current request: the address, user agent and request id every event records."""

import contextvars
import re
import uuid
from dataclasses import dataclass

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
            ip_address=request.META.get("REMOTE_ADDR") or "",
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            request_id=request_id,
        )


current_request: contextvars.ContextVar[RequestContext] = contextvars.ContextVar(
    "audit_request_context", default=RequestContext()
)
