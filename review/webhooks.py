"""Webhooks: other systems (a publishing system, a chat bot) are told when a piece moves, in a way they can trust.

The services call fire() inside their transaction; once it commits, one background task per webhook that
listens for the event POSTs the JSON payload. Every attempt is kept as a WebhookDelivery; an attempt that
fails (no answer, or anything but 2xx) is tried again later, with growing delays, up to MAX_ATTEMPTS.

Each delivery carries these headers:

    X-Imprimatur-Event:      submitted | approved | returned | rejected | published | withdrawn | overdue | escalated
    X-Imprimatur-Delivery:   the delivery's id, the same on every attempt (receivers can drop repeats)
    X-Imprimatur-Timestamp:  Unix time of this attempt, in seconds
    X-Imprimatur-Signature:  sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" under the webhook's secret>

The timestamp is part of what is signed, so a receiver that also refuses old timestamps (verify() allows five
minutes) cannot be fooled by a delivery recorded and replayed later.
"""

import datetime
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid

from django.db import transaction
from django.tasks import task
from django.utils import timezone

from .models import Document, Webhook, WebhookDelivery

Event = Webhook.Event

EVENT_HEADER = "X-Imprimatur-Event"
DELIVERY_HEADER = "X-Imprimatur-Delivery"
TIMESTAMP_HEADER = "X-Imprimatur-Timestamp"
SIGNATURE_HEADER = "X-Imprimatur-Signature"
# How long after a failed attempt the next one is made; the first attempt plus one per delay.
RETRY_DELAYS = (
    datetime.timedelta(seconds=30),
    datetime.timedelta(minutes=2),
    datetime.timedelta(minutes=10),
    datetime.timedelta(hours=1),
    datetime.timedelta(hours=6),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
TIMEOUT_SECONDS = 10
REPLAY_TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Return the signature header's value for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(
    secret: str, timestamp: str, body: bytes, signature: str, *, tolerance: int = REPLAY_TOLERANCE_SECONDS
) -> bool:
    """Return whether a delivery is genuine and recent: what a receiver checks (written here for tests and docs)."""
    try:
        age = abs(time.time() - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature)


def payload_for(event: str, *, document: Document, actor, **details) -> dict:
    """Return what a delivery of `event` says: the piece as it now is, who acted, and the event's details."""
    revision = document.current_revision
    return {
        "event": str(event),
        "occurred_at": timezone.now().isoformat(),
        "document": {
            "id": document.pk,
            "title": document.title,
            "state": document.state,
            "department": document.department_id,
            "current_stage": document.current_stage.name if document.current_stage_id else None,
            "round": document.round,
            "revision": {"number": revision.number, "content_hash": revision.content_hash} if revision else None,
        },
        # None for what the system does by itself (an overdue stage, an escalation).
        "actor": {"username": actor.get_username(), "name": actor.printed_name} if actor else None,
        **details,
    }


def fire(event: str, *, document: Document, actor, **details) -> None:
    """Tell every active webhook that listens for `event`, once the current transaction commits."""
    payload = payload_for(event, document=document, actor=actor, **details)
    # Robust: the action has committed; a queue that cannot take the delivery is logged, not the user's error.
    transaction.on_commit(lambda: enqueue_deliveries(payload), robust=True)


def enqueue_deliveries(payload: dict) -> None:
    """Queue one delivery task per active webhook listening for the payload's event."""
    for webhook in Webhook.objects.filter(is_active=True).only("pk", "events"):
        if payload["event"] in webhook.events:
            deliver_webhook.enqueue(webhook.pk, {"id": str(uuid.uuid4()), **payload})


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect is an answer other than 2xx: the signed POST is not replayed to another address.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def deliver(*, webhook_id: int, payload: dict, attempt: int = 1) -> WebhookDelivery | None:
    """Make one attempt at a delivery, record it, and queue the next attempt if it failed."""
    webhook = Webhook.objects.filter(pk=webhook_id, is_active=True).first()
    if webhook is None:
        return None  # removed or switched off since the event
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    request = urllib.request.Request(
        webhook.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Imprimatur-Webhooks/1",
            EVENT_HEADER: payload["event"],
            DELIVERY_HEADER: payload["id"],
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(webhook.secret, timestamp, body),
        },
    )
    status_code, error = None, ""
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            status_code = response.status
    except urllib.error.HTTPError as answer:
        status_code, error = answer.code, str(answer.reason)[:1000]
        answer.close()
    except (OSError, ValueError) as failure:  # URLError, timeouts, refused connections, malformed addresses
        error = str(getattr(failure, "reason", failure))[:1000] or type(failure).__name__
    delivery = WebhookDelivery.objects.create(
        webhook=webhook,
        delivery=payload["id"],
        event=payload["event"],
        payload=payload,
        attempt=attempt,
        status_code=status_code,
        error=error,
    )
    if not delivery.succeeded:
        retry(webhook_id=webhook_id, payload=payload, attempt=attempt)
    return delivery


@task()
def deliver_webhook(webhook_id: int, payload: dict, attempt: int = 1) -> None:
    """POST one event to one webhook; on failure the next attempt is queued with a delay (run by the worker)."""
    deliver(webhook_id=webhook_id, payload=payload, attempt=attempt)


def retry(*, webhook_id: int, payload: dict, attempt: int) -> None:
    """Queue the attempt after `attempt`, after its delay; give up after MAX_ATTEMPTS."""
    if attempt >= MAX_ATTEMPTS:
        return
    deliver_webhook.using(run_after=timezone.now() + RETRY_DELAYS[attempt - 1]).enqueue(
        webhook_id, payload, attempt + 1
    )
