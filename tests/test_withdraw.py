import pytest
from django.urls import reverse
from django.utils import timezone

from audit.labels import Action as LogAction
from audit.models import AuditEvent
from review import services
from review.models import AuditAction, Document, Publication, StageReview
from tests import factories
from tests.factories import Role, fresh, last_event, payload, zh

# The database is set up before the per-test fixtures, and checked after them (tests/conftest.py).
pytestmark = pytest.mark.django_db


def url(name, document):
    return reverse(f"review:document_{name}", args=[document.pk])


def test_it_withdraws_a_draft(client_for, drafter):
    document = factories.make_document(drafter=drafter)

    response = client_for(drafter).post(url("withdraw", document), {"reason": "活动取消。"})

    assert response.status_code == 302
    assert response.url == document.get_absolute_url()
    document = fresh(document)
    assert document.state == Document.State.WITHDRAWN
    assert payload(last_event(document)) == {
        "action": AuditAction.WITHDRAWN,
        "actor": drafter,
        "actor_name": "张晓雯",
        "actor_role": "",
        "from_state": Document.State.DRAFT,
        "to_state": Document.State.WITHDRAWN,
        "comment": "活动取消。",
        "data": {},
    }
    assert not document.granted(drafter, "change_document")
    # Editing a withdrawn piece is a matter of its state (a conflict), not of the person: refused with the reason.
    response = client_for(drafter).get(url("edit", document), follow=True)
    assert response.redirect_chain == [(document.get_absolute_url(), 302)]
    assert factories.messages_of(response) == [zh("This piece can no longer be edited.")]
    event = last_event(document)
    assert (event.action, event.actor, event.data["attempted"]) == (LogAction.REFUSED, drafter, "edit")
    assert fresh(document).state == Document.State.WITHDRAWN


def test_it_withdraws_a_piece_in_review_and_ends_its_stage(client_for, drafter, officer, head):
    document = factories.approve_by(factories.submitted_document(drafter=drafter), officer)

    client_for(drafter).post(url("withdraw", document))

    document = fresh(document)
    assert (document.state, document.current_stage) == (Document.State.WITHDRAWN, None)
    event = last_event(document)
    assert (event.action, event.from_state, event.to_state, event.comment, event.data) == (
        AuditAction.WITHDRAWN,
        Document.State.IN_REVIEW,
        Document.State.WITHDRAWN,
        "",
        {"stage": "复审"},
    )
    assert list(document.stage_reviews.values_list("decision", flat=True).order_by("stage__position")) == [
        StageReview.Decision.APPROVED,
        StageReview.Decision.CANCELLED,
        StageReview.Decision.CANCELLED,
    ]
    assert not document.granted(head, "review_document")
    assert not Document.objects.awaiting(head).exists()


def test_it_withdraws_an_approved_piece_so_it_cannot_go_out(client_for, drafter, officer, head, leader, publisher):
    document = factories.approved_document(officer, head, leader, drafter=drafter)

    client_for(drafter).post(url("withdraw", document), {"reason": "信息已过时。"})

    assert fresh(document).state == Document.State.WITHDRAWN
    response = client_for(publisher).post(
        url("publish", document), {"channel": "website", "published_at": "2026-03-01T09:30"}, follow=True
    )
    assert factories.messages_of(response) == [zh("Only an approved piece can be marked published.")]
    assert fresh(document).state == Document.State.WITHDRAWN
    assert not Publication.objects.exists()


def test_it_refuses_get(client_for, drafter):
    document = factories.make_document(drafter=drafter)

    assert client_for(drafter).get(url("withdraw", document)).status_code == 405
    assert fresh(document).state == Document.State.DRAFT


def test_it_refuses_anyone_but_the_drafter(client_for, drafter, officer, department):
    document = factories.submitted_document(drafter=drafter)
    colleague = factories.make_user(roles=[(Role.DRAFTER, department)])

    response = client_for(officer).post(url("withdraw", document))

    assert response.status_code == 403
    assert fresh(document).state == Document.State.IN_REVIEW
    assert payload(last_event(document)) == {
        "action": LogAction.REFUSED,
        "actor": officer,
        "actor_name": "李信",
        "actor_role": "",
        "from_state": Document.State.IN_REVIEW,
        "to_state": Document.State.IN_REVIEW,
        "comment": "",
        "data": factories.refused("withdraw", "Only the drafter can withdraw this piece."),
    }
    assert client_for(colleague).post(url("withdraw", document)).status_code == 403
    assert fresh(document).state == Document.State.IN_REVIEW


def test_it_hides_the_piece_from_another_department(client_for, drafter, outsider):
    document = factories.make_document(drafter=drafter)

    assert client_for(outsider).post(url("withdraw", document)).status_code == 404
    assert fresh(document).state == Document.State.DRAFT


def test_it_refuses_to_withdraw_a_published_piece(client_for, drafter, officer, head, leader, publisher):
    document = factories.approved_document(officer, head, leader, drafter=drafter)
    services.publish(document=document, user=publisher, channel="website", url="", published_at=timezone.now())

    response = client_for(drafter).post(url("withdraw", document), follow=True)

    assert factories.messages_of(response) == [zh("This piece can no longer be withdrawn.")]
    assert fresh(document).state == Document.State.PUBLISHED
    event = last_event(document)
    assert (event.action, event.actor, event.data["attempted"]) == (LogAction.REFUSED, drafter, "withdraw")


def test_it_refuses_to_withdraw_twice(drafter):
    document = factories.make_document(drafter=drafter)
    services.withdraw(document=document, user=drafter)

    with pytest.raises(services.Conflict):
        services.withdraw(document=document, user=drafter)
    assert AuditEvent.objects.about(document).filter(action=AuditAction.WITHDRAWN).count() == 1
