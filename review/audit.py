"""Who, from where, in which request: the context every audit event records, and its writer."""

import contextvars
import uuid
from dataclasses import dataclass

from django.db import connection, models, transaction
from django.utils import timezone

GENESIS_HASH = "0" * 64
# Any constant will do; it names the lock that serialises appends on PostgreSQL.
_APPEND_LOCK_ID = 0x1A0D17


@dataclass(frozen=True)
class RequestContext:
    ip_address: str | None = None
    user_agent: str = ""
    request_id: str = ""

    @classmethod
    def from_request(cls, request) -> "RequestContext":
        return cls(
            ip_address=request.META.get("REMOTE_ADDR") or None,
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
            request_id=(request.META.get("HTTP_X_REQUEST_ID") or uuid.uuid4().hex)[:64],
        )


current_request: contextvars.ContextVar[RequestContext] = contextvars.ContextVar(
    "audit_request_context", default=RequestContext()
)


class AuditEventManager(models.Manager):
    def record(
        self,
        *,
        action: str,
        actor=None,
        actor_role: str = "",
        document=None,
        from_state: str = "",
        to_state: str = "",
        stage: str = "",
        opinion: str = "",
        data: dict | None = None,
    ):
        """Append one event to the chain, inside the caller's transaction."""
        context = current_request.get()
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_APPEND_LOCK_ID])
            last = self.order_by("-sequence").values("sequence", "hash").first()
            event = self.model(
                sequence=last["sequence"] + 1 if last else 1,
                created_at=timezone.now(),
                actor=actor if actor is not None and actor.is_authenticated else None,
                actor_name=actor.printed_name if actor is not None and actor.is_authenticated else "",
                actor_role=str(actor_role),
                action=action,
                document=document,
                object_repr=str(document)[:200] if document is not None else "",
                revision_hash=document.current_revision.content_hash
                if document is not None and document.current_revision_id
                else "",
                from_state=from_state,
                to_state=to_state,
                stage=str(stage),
                opinion=opinion,
                ip_address=context.ip_address,
                user_agent=context.user_agent,
                request_id=context.request_id,
                data=data or {},
                prev_hash=last["hash"] if last else GENESIS_HASH,
            )
            event.hash = event.compute_hash()
            event.save(force_insert=True)
        return event
