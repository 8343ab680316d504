"""Webhooks: signed JSON deliveries after commit, each attempt recorded, failures retried with backoff."""

import json
import time

import pytest
from django.utils import timezone

from review import webhooks
from review.models import Webhook, WebhookDelivery
from tests import factories
from tests.api import api_client, clean_throttles  # noqa: F401 (an autouse fixture)
from tests.factories import PASSWORD, fresh, run_queue

# The throttles live in the database cache: the database is set up before clean_throttles empties it.
pytestmark = pytest.mark.django_db

ALL_EVENTS = list(Webhook.Event.values)


def deliveries_queued(results) -> list:
    return [result for result in results if result.task.name == "deliver_webhook"]


def attempts(results) -> list[int]:
    """Return the attempt number each queued delivery task was for."""
    return [result.args[2] if len(result.args) > 2 else 1 for result in results]


def hook(url, events=("approved",), **fields) -> Webhook:
    return Webhook.objects.create(url=url, events=list(events), **fields)


def assert_signed(webhook: Webhook, request) -> dict:
    """Check a received delivery's signature as a receiver would, and return its JSON."""
    timestamp = request.headers["X-Imprimatur-Timestamp"]
    signature = request.headers["X-Imprimatur-Signature"]
    assert signature.startswith("sha256=")
    assert webhooks.verify(webhook.secret, timestamp, request.body, signature)
    assert not webhooks.verify("another secret", timestamp, request.body, signature)
    assert not webhooks.verify(webhook.secret, timestamp, request.body + b" ", signature)
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    return json.loads(request.body)


def test_it_signs_retries_and_records_every_attempt(
    receiver, queue, django_capture_on_commit_callbacks, drafter, officer
):
    webhook = hook(receiver.url)
    receiver.script.append(500)
    document = factories.submitted_document(drafter=drafter)

    with django_capture_on_commit_callbacks(execute=True):
        response = api_client(officer).post(
            f"/api/v1/documents/{document.pk}/approve/",
            {"opinion": "同意。", "password": PASSWORD, "checklist": factories.answers(document)},
            format="json",
        )
    assert len(deliveries_queued(queue.results)) == 1  # queued once the approval committed, not yet sent
    assert not WebhookDelivery.objects.exists()
    results = deliveries_queued(run_queue(queue))  # (the notifications have tasks of their own)

    assert response.status_code == 200
    assert attempts(results) == [1, 2]
    assert results[0].task.run_after is None and results[1].task.run_after is not None
    deliveries = list(WebhookDelivery.objects.order_by("attempt"))
    assert [(d.attempt, d.status_code, d.event) for d in deliveries] == [(1, 500, "approved"), (2, 200, "approved")]
    assert deliveries[0].delivery == deliveries[1].delivery
    assert deliveries[0].payload == deliveries[1].payload
    assert len(receiver.received) == 2
    bodies = [assert_signed(webhook, request) for request in receiver.received]
    assert bodies[0] == bodies[1] == deliveries[1].payload
    assert {request.headers["X-Imprimatur-Delivery"] for request in receiver.received} == {str(deliveries[0].delivery)}
    assert receiver.received[0].headers["X-Imprimatur-Event"] == "approved"
    document = fresh(document)
    assert bodies[0] == {
        "id": str(deliveries[0].delivery),
        "event": "approved",
        "occurred_at": bodies[0]["occurred_at"],
        "document": {
            "id": document.pk,
            "title": document.title,
            "state": "in_review",
            "department": document.department_id,
            "current_stage": "复审",
            "round": 1,
            "revision": {"number": 1, "content_hash": document.current_revision.content_hash},
        },
        "actor": {"username": "officer", "name": "李信"},
        "stage": "初审",
    }


def test_it_defers_retries_on_a_queue_that_can_wait(receiver, queue, drafter):
    backend = queue
    webhook = hook(receiver.url, events=["submitted"])
    receiver.script.append(503)
    document = factories.make_document(drafter=drafter)
    factories.submit(document)  # the event waits for the commit: hand it to the queue as on_commit would
    webhooks.enqueue_deliveries(webhooks.payload_for("submitted", document=fresh(document), actor=drafter))

    first = backend.results[0]
    assert first.task.run_after is None
    before = timezone.now()
    first.task.call(*first.args, **first.kwargs)
    after = timezone.now()
    retry = backend.results[1]
    retry.task.call(*retry.args, **retry.kwargs)

    assert retry.args[2] == 2
    assert before + webhooks.RETRY_DELAYS[0] <= retry.task.run_after <= after + webhooks.RETRY_DELAYS[0]
    assert [(d.attempt, d.status_code) for d in WebhookDelivery.objects.order_by("attempt")] == [(1, 503), (2, 200)]
    assert len(backend.results) == 2  # delivered: no third attempt queued
    assert_signed(webhook, receiver.received[1])


def test_it_gives_up_after_the_last_attempt(receiver, queue, db):
    drafter = factories.make_user("drafter", roles=[(factories.Role.DRAFTER, factories.make_department())])
    hook(receiver.url, events=["submitted"])
    receiver.script.extend([500] * (webhooks.MAX_ATTEMPTS + 2))
    document = factories.make_document(drafter=drafter)

    webhooks.enqueue_deliveries(webhooks.payload_for("submitted", document=document, actor=drafter))
    results = run_queue(queue)

    # Each failure queued the next attempt, MAX_ATTEMPTS in all, and no more after the last.
    assert attempts(results) == list(range(1, webhooks.MAX_ATTEMPTS + 1))
    assert len(receiver.received) == webhooks.MAX_ATTEMPTS
    assert list(WebhookDelivery.objects.order_by("attempt").values_list("attempt", "status_code")) == [
        (attempt, 500) for attempt in range(1, webhooks.MAX_ATTEMPTS + 1)
    ]


def test_it_records_an_unreachable_receiver_and_follows_no_redirect(receiver, queue, drafter):
    closed = hook("http://127.0.0.1:9/", events=["submitted"])  # the discard port: nothing listens
    redirected = hook(receiver.url, events=["submitted"])
    receiver.script.append(302)
    document = factories.make_document(drafter=drafter)

    webhooks.enqueue_deliveries(webhooks.payload_for("submitted", document=document, actor=drafter))
    run_queue(queue)

    failed = closed.deliveries.order_by("attempt")
    assert failed.count() == webhooks.MAX_ATTEMPTS
    assert failed[0].status_code is None and failed[0].error
    assert list(redirected.deliveries.order_by("attempt").values_list("status_code", flat=True)) == [302, 200]
    assert [request.path for request in receiver.received] == ["/hooks/imprimatur"] * 2


def test_it_tells_only_active_webhooks_that_listen(receiver, django_capture_on_commit_callbacks, drafter):
    listening = hook(receiver.url, events=["submitted"])
    hook(receiver.url, events=["published"])
    hook(receiver.url, events=["submitted"], is_active=False)
    document = factories.make_document(drafter=drafter)

    with django_capture_on_commit_callbacks(execute=True):
        api_client(drafter).post(f"/api/v1/documents/{document.pk}/submit/")

    assert list(WebhookDelivery.objects.values_list("webhook", "event")) == [(listening.pk, "submitted")]


def test_it_sends_nothing_for_a_refused_action(receiver, django_capture_on_commit_callbacks, drafter, head):
    hook(receiver.url, events=ALL_EVENTS)
    document = factories.submitted_document(drafter=drafter)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        api_client(drafter).post(f"/api/v1/documents/{document.pk}/submit/")

    assert callbacks == []
    assert not WebhookDelivery.objects.exists()


def test_it_fires_each_event_from_its_service(
    receiver, django_capture_on_commit_callbacks, drafter, officer, head, leader, publisher
):
    webhook = hook(receiver.url, events=ALL_EVENTS)
    returned = factories.make_document(drafter=drafter)
    rejected = factories.submitted_document(drafter=drafter)
    published = factories.make_document(drafter=drafter)

    when = timezone.localtime().replace(microsecond=0).isoformat()
    with django_capture_on_commit_callbacks(execute=True):
        factories.submit(returned)
        api_client(officer).post(f"/api/v1/documents/{returned.pk}/return/", {"reason": "补充。"}, format="json")
        api_client(officer).post(f"/api/v1/documents/{rejected.pk}/reject/", {"reason": "不宜。"}, format="json")
        factories.approve_by(factories.submit(published), officer, head, leader)
        api_client(publisher).post(
            f"/api/v1/documents/{published.pk}/publish/",
            {"channel": "website", "url": "https://example.org/a", "published_at": when},
            format="json",
        )

    bodies = [assert_signed(webhook, request) for request in receiver.received]
    assert [(b["event"], b["document"]["id"], b["document"]["state"]) for b in bodies] == [
        ("submitted", returned.pk, "in_review"),
        ("returned", returned.pk, "returned"),
        ("rejected", rejected.pk, "rejected"),
        ("submitted", published.pk, "in_review"),
        ("approved", published.pk, "in_review"),
        ("approved", published.pk, "in_review"),
        ("approved", published.pk, "approved"),
        ("published", published.pk, "published"),
    ]
    assert bodies[-1]["publication"] == {
        "channel": "website",
        "url": "https://example.org/a",
        "published_at": when,
    }
    assert bodies[1]["stage"] == "初审"


def test_it_refuses_an_old_or_malformed_timestamp():
    body = b'{"event":"approved"}'
    old = str(int(time.time()) - 3600)

    assert webhooks.verify("s", old, body, webhooks.sign("s", old, body)) is False
    assert webhooks.verify("s", "yesterday", body, webhooks.sign("s", "yesterday", body)) is False
    now = str(int(time.time()))
    assert webhooks.verify("s", now, body, webhooks.sign("s", now, body)) is True


def test_it_gives_each_webhook_its_own_random_secret(db):
    first, second = hook("https://a.example.org/"), hook("https://b.example.org/")

    assert len(first.secret) == 64 and first.secret != second.secret


def test_it_lets_administrators_register_webhooks(client_for, receiver):
    admin = factories.make_user("admin")
    admin.is_superuser = admin.is_staff = True
    admin.save()

    response = client_for(admin).post(
        "/admin/review/webhook/add/",
        {"url": receiver.url, "events": ["approved", "published"], "secret": "s" * 40, "is_active": "on"},
    )

    assert response.status_code == 302
    assert Webhook.objects.get().events == ["approved", "published"]
    assert client_for(admin).get("/admin/review/webhookdelivery/").status_code == 200


def test_it_tells_of_a_withdrawal(receiver, queue, django_capture_on_commit_callbacks, drafter):
    webhook = hook(receiver.url, events=["withdrawn"])
    document = factories.submitted_document(drafter=drafter)

    with django_capture_on_commit_callbacks(execute=True):
        api_client(drafter).post(f"/api/v1/documents/{document.pk}/withdraw/", {"reason": "活动取消。"}, format="json")
    run_queue(queue)

    [request] = receiver.received
    body = assert_signed(webhook, request)
    assert (request.headers["X-Imprimatur-Event"], body["event"], body["stage"]) == ("withdrawn", "withdrawn", "初审")
    assert body["document"]["state"] == "withdrawn"
