"""Rule 7: every action and every refusal leaves one hash-chained, signed audit event, written with the change."""

import pytest
from axes.models import AccessAttempt
from django.db import DatabaseError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditAction as AccountsAction
from audit.chain import GENESIS_HASH, event_hash, sign
from audit.labels import Action as LogAction
from audit.models import AuditEvent, AuditEventManager
from audit.verify import verify_chain
from review import services
from review.models import AuditAction, Document
from tests import factories
from tests.factories import current_review, fresh


def recomputed(event: AuditEvent) -> str:
    """Return the hash an event's stored fields call for."""
    return event_hash(event.prev_hash, event.canonical())


@pytest.fixture
def journey(client_for, drafter, officer, head, leader, publisher):
    """A piece taken to publication through the web, with a refusal and a return on the way."""
    document = factories.make_document(drafter=drafter)
    drafting = client_for(drafter)
    drafting.post(reverse("review:document_submit", args=[document.pk]))
    drafting.post(reverse("review:document_approve", args=[document.pk]))  # refused: four eyes
    services.approve(
        document=document,
        user=officer,
        password=factories.PASSWORD,
        opinion="同意。",
        checklist=factories.answers(document),
    )
    services.return_for_changes(document=document, user=head, reason="请修改标题。")
    services.edit_document(document=fresh(document), user=drafter, title="修改后的标题")
    factories.approve_by(factories.submit(fresh(document)), officer, head, leader)
    services.publish(document=document, user=publisher, channel="website", url="", published_at=timezone.now())
    return fresh(document)


def test_it_chains_every_event_to_the_one_before(journey):
    events = list(AuditEvent.objects.order_by("sequence"))

    assert [event.sequence for event in events] == list(range(1, len(events) + 1))
    assert events[0].prev_hash == GENESIS_HASH
    for previous, event in zip(events, events[1:], strict=False):
        assert event.prev_hash == previous.hash
    for event in events:
        assert recomputed(event) == event.hash
        assert event.signature == sign(event.hash)
    assert len({event.hash for event in events}) == len(events)
    assert verify_chain().ok


def test_it_records_the_journey_in_order(journey):
    events = AuditEvent.objects.about(journey).order_by("sequence")
    actions = [(event.action, event.actor.username, event.data.get("stage", "")) for event in events]

    assert actions == [
        (AuditAction.CREATED, "drafter", ""),
        (AuditAction.SUBMITTED, "drafter", "初审"),
        (LogAction.REFUSED, "drafter", ""),
        (AuditAction.APPROVED, "officer", "初审"),
        (AuditAction.RETURNED, "head", "复审"),
        (AuditAction.EDITED, "drafter", ""),
        (AuditAction.SUBMITTED, "drafter", "初审"),
        (AuditAction.APPROVED, "officer", "初审"),
        (AuditAction.APPROVED, "head", "复审"),
        (AuditAction.APPROVED, "leader", "终审"),
        (AuditAction.PUBLISHED, "publisher", ""),
    ]
    assert {(event.object_type, event.object_id, event.scope) for event in events} == {
        ("review.document", journey.pk, str(journey.department_id))
    }
    first, last = journey.revisions.order_by("number")
    hashes = [event.content_hash for event in events]
    assert hashes[:5] == [first.content_hash] * 5
    assert hashes[5:] == [last.content_hash] * 6


def test_it_detects_a_changed_event(journey):
    event = AuditEvent.objects.about(journey).get(action=AuditAction.RETURNED)
    assert recomputed(event) == event.hash

    event.comment = "同意。"

    assert recomputed(event) != event.hash


def test_it_refuses_to_change_or_delete_history(journey):
    event = AuditEvent.objects.about(journey).first()

    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(comment="篡改")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    event.refresh_from_db()
    assert event.comment == ""


def test_it_writes_the_event_in_the_same_transaction_as_the_change(monkeypatch, drafter):
    document = factories.make_document(drafter=drafter)

    def broken(self, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(AuditEventManager, "record", broken)
    with pytest.raises(DatabaseError):
        services.submit_document(document=document, user=drafter)

    document = fresh(document)
    assert document.state == Document.State.DRAFT
    assert document.round == 0
    assert not document.stage_reviews.exists()


def test_it_records_where_the_request_came_from(client_for, drafter):
    document = factories.make_document(drafter=drafter)

    client_for(drafter).post(
        reverse("review:document_submit", args=[document.pk]),
        HTTP_USER_AGENT="Mozilla/5.0 (iPhone)",
        HTTP_X_REQUEST_ID="req-42",
        REMOTE_ADDR="10.1.2.3",
    )

    event = factories.last_event(document)
    assert (event.ip_address, event.user_agent, event.request_id) == ("10.1.2.3", "Mozilla/5.0 (iPhone)", "req-42")
    assert event.object_repr == document.title


def test_it_records_logins_and_failed_logins_without_the_password(client, department):
    factories.make_user("wang", password="correct-horse-7", roles=[(factories.Role.DRAFTER, department)])

    client.post(reverse("login"), {"username": "wang", "password": "wrong-password-1"})
    failed = factories.last_event()
    client.post(reverse("login"), {"username": "wang", "password": "correct-horse-7"})
    login = factories.last_event()

    assert (failed.action, failed.actor, failed.data) == (AccountsAction.LOGIN_FAILED, None, {"username": "wang"})
    assert "wrong-password-1" not in str(failed.data)
    assert (login.action, login.actor.username) == (AccountsAction.LOGIN, "wang")


def test_it_keeps_the_name_after_the_person_is_gone(client_for, department):
    temp = factories.make_user("temp", display_name="临时工", roles=[(factories.Role.DRAFTER, department)])
    client_for(temp)  # logging in is recorded
    event, pk = factories.last_event(), temp.pk

    temp.delete()

    event.refresh_from_db()
    assert (event.action, event.actor_id, event.actor_name) == (AccountsAction.LOGIN, pk, "临时工")
    assert recomputed(event) == event.hash


def test_it_records_role_changes(drafter, department):
    event = AuditEvent.objects.filter(action=AccountsAction.MEMBERSHIP_ADDED).last()

    assert event.data == {"user": "drafter", "role": "drafter", "department": "public-health"}
    assert (event.object_type, event.object_id, event.scope) == ("accounts.user", drafter.pk, str(department.pk))
    assert drafter.groups.filter(name=f"role:drafter:{department.pk}").exists()


def test_it_records_refusals_with_the_state_unchanged(client_for, drafter, officer):
    document = factories.submitted_document(drafter=drafter)
    review = current_review(document)

    client_for(drafter).post(reverse("review:document_approve", args=[document.pk]), {"review": review.pk})

    event = factories.last_event(document)
    assert (event.action, event.from_state, event.to_state) == ("refused", "in_review", "in_review")
    assert event.hash == recomputed(event)
    assert event.signature == sign(event.hash)


@pytest.mark.parametrize(
    ("proxies", "forwarded", "recorded"),
    [
        (0, "198.51.100.1, 203.0.113.7", "10.0.0.2"),  # no proxy trusted: a client's header is ignored
        (1, "198.51.100.1, 203.0.113.7", "203.0.113.7"),  # what nginx added, not what the client wrote before it
        (2, "198.51.100.1, 203.0.113.7", "198.51.100.1"),
        (2, "203.0.113.7", "10.0.0.2"),  # fewer entries than proxies: the connection's address
        (1, "not-an-address", "10.0.0.2"),
    ],
)
def test_behind_trusted_proxies_it_records_and_counts_the_clients_address(
    client, department, settings, proxies, forwarded, recorded
):
    settings.TRUSTED_PROXIES = proxies
    factories.make_user("wang", password="correct-horse-7", roles=[(factories.Role.DRAFTER, department)])

    client.post(
        reverse("login"), {"username": "wang", "password": "wrong-password-1"},
        REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded,
    )  # fmt: skip

    assert factories.last_event().ip_address == recorded
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == [recorded]
