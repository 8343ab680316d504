import pytest
from django.urls import reverse

from audit.labels import Action as LogAction
from review import services
from review.models import AuditAction, Document, StageReview, content_hash
from tests import factories
from tests.factories import PASSWORD, Role, current_review, fresh, last_event, payload, zh

# The database is set up before the per-test fixtures, and checked after them (tests/conftest.py).
pytestmark = pytest.mark.django_db

REASON = "请补充接种地点，并核对时间。"


def url(name, document):
    return reverse(f"review:document_{name}", args=[document.pk])


def test_it_returns_the_piece_to_its_drafter(client_for, drafter, officer, head):
    document = factories.approve_by(factories.submitted_document(drafter=drafter), officer)
    review = current_review(document)

    response = client_for(head).post(url("return", document), {"review": review.pk, "opinion": REASON})

    assert response.status_code == 302
    document = fresh(document)
    assert document.state == Document.State.RETURNED
    assert document.current_stage is None
    assert payload(last_event(document)) == {
        "action": AuditAction.RETURNED,
        "actor": head,
        "actor_name": "王建国",
        "actor_role": Role.DEPARTMENT_HEAD,
        "from_state": Document.State.IN_REVIEW,
        "to_state": Document.State.RETURNED,
        "comment": REASON,
        "data": {
            "round": 1,
            "stage": "复审",
            "stage_review": review.pk,
            "revision": document.current_revision.content_hash,
        },
    }
    decisions = [(r.meaning, r.decision) for r in document.stage_reviews.order_by("stage__position")]
    assert decisions == [
        ("初审", StageReview.Decision.APPROVED),
        ("复审", StageReview.Decision.RETURNED),
        ("终审", StageReview.Decision.CANCELLED),
    ]
    assert document.granted(drafter, "change_document")
    assert not document.granted(head, "review_document")


def test_it_shows_the_drafter_why(client_for, drafter, officer):
    document = factories.submitted_document(drafter=drafter)
    services.return_for_changes(document=document, user=officer, reason=REASON)

    response = client_for(drafter).get(document.get_absolute_url())

    assert response.status_code == 200
    assert response.context["return_review"].opinion == REASON
    assert REASON in response.content.decode()


def test_it_requires_a_reason_and_keeps_the_form(client_for, drafter, officer):
    document = factories.submitted_document(drafter=drafter)
    review = current_review(document)

    response = client_for(officer).post(url("return", document), {"review": review.pk, "opinion": "   "})

    assert response.status_code == 400
    form = response.context["decision_form"]
    assert form.errors["opinion"] == [zh("Give a reason, so the drafter knows what to do.")]
    assert form["review"].value() == str(review.pk)
    assert response.context["decision_action"] == "return"
    assert f'name="review" value="{review.pk}"' in response.content.decode()
    document = fresh(document)
    assert document.state == Document.State.IN_REVIEW
    assert current_review(document).decision == StageReview.Decision.PENDING
    assert last_event(document).action == AuditAction.SUBMITTED


def test_it_keeps_the_typed_opinion_when_the_form_is_invalid(client_for, drafter, officer):
    document = factories.submitted_document(drafter=drafter)

    response = client_for(officer).post(url("reject", document), {"review": "not-a-number", "opinion": REASON})

    assert response.status_code == 400
    assert response.context["decision_form"]["opinion"].value() == REASON
    assert REASON in response.content.decode()
    assert fresh(document).state == Document.State.IN_REVIEW


def test_it_refuses_a_blank_reason_in_the_service(drafter, officer):
    document = factories.submitted_document(drafter=drafter)

    with pytest.raises(services.Invalid) as returned:
        services.return_for_changes(document=document, user=officer, reason=" \n ")
    with pytest.raises(services.Invalid) as rejected:
        services.reject(document=document, user=officer, reason="")

    reason = zh("Give a reason, so the drafter knows what to do.")
    assert (returned.value.field, returned.value.message) == ("reason", reason)
    assert (rejected.value.field, rejected.value.message) == ("reason", reason)
    document = fresh(document)
    assert document.state == Document.State.IN_REVIEW
    assert current_review(document).decision == StageReview.Decision.PENDING
    # An input error the reviewer simply corrects: not written to the audit log.
    assert last_event(document).action == AuditAction.SUBMITTED


def test_it_refuses_get(client_for, drafter, officer):
    document = factories.submitted_document(drafter=drafter)

    assert client_for(officer).get(url("return", document)).status_code == 405
    assert client_for(officer).get(url("reject", document)).status_code == 405
    assert fresh(document).state == Document.State.IN_REVIEW


def test_it_refuses_the_wrong_people(client_for, drafter, officer, head, outsider):
    document = factories.submitted_document(drafter=drafter)
    data = {"review": current_review(document).pk, "opinion": REASON}

    assert client_for(outsider).post(url("return", document), data).status_code == 404
    assert client_for(drafter).post(url("return", document), data).status_code == 403
    factories.approve_by(document, officer)
    data = {"review": current_review(document).pk, "opinion": REASON}
    assert client_for(officer).post(url("return", document), data).status_code == 403
    assert client_for(officer).post(url("reject", document), data).status_code == 403

    document = fresh(document)
    assert (document.state, document.current_stage.name) == (Document.State.IN_REVIEW, "复审")
    event = last_event(document)
    assert (event.action, event.actor, event.data["attempted"]) == (LogAction.REFUSED, officer, "reject")


def test_it_starts_again_at_the_first_stage_on_resubmission(client_for, drafter, officer, head):
    document = factories.approve_by(factories.submitted_document(drafter=drafter), officer)
    services.return_for_changes(document=document, user=head, reason=REASON)

    response = client_for(drafter).post(url("submit", document), {"note": "已补充。"})

    assert response.status_code == 302
    document = fresh(document)
    assert (document.state, document.current_stage.name, document.round) == (Document.State.IN_REVIEW, "初审", 2)
    assert payload(last_event(document)) == {
        "action": AuditAction.SUBMITTED,
        "actor": drafter,
        "actor_name": "张晓雯",
        "actor_role": "",
        "from_state": Document.State.RETURNED,
        "to_state": Document.State.IN_REVIEW,
        "comment": "已补充。",
        "data": {"round": 2, "stage": "初审", "stages": ["初审", "复审", "终审"]},
    }
    second_round = document.stage_reviews.filter(round=2).order_by("stage__position")
    assert [(r.meaning, r.decision) for r in second_round] == [
        ("初审", StageReview.Decision.PENDING),
        ("复审", StageReview.Decision.PENDING),
        ("终审", StageReview.Decision.PENDING),
    ]
    # The first round's signatures stay on record, as they were.
    assert document.stage_reviews.get(round=1, meaning="初审").decided_by == officer
    assert list(Document.objects.awaiting(officer)) == [document]
    assert not Document.objects.awaiting(head).exists()

    # The officer signed 初审 before and may sign it again: it is the same stage.
    factories.approve_by(document, officer, head)
    assert fresh(document).current_stage.name == "终审"


def test_it_binds_the_new_rounds_signatures_to_the_changed_content(drafter, officer, head, leader):
    document = factories.approve_by(factories.submitted_document(drafter=drafter), officer)
    old_hash = fresh(document).current_revision.content_hash
    services.return_for_changes(document=document, user=head, reason=REASON)
    services.edit_document(document=fresh(document), user=drafter, body="<p>地点：卫生院一楼。</p>")

    document = factories.approve_by(factories.submit(fresh(document)), officer, head, leader)

    new_hash = content_hash(document.title, "<p>地点：卫生院一楼。</p>")
    assert document.state == Document.State.APPROVED
    assert document.current_revision.content_hash == new_hash
    assert {r.revision_hash for r in document.stage_reviews.filter(round=2)} == {new_hash}
    assert {r.revision_hash for r in document.stage_reviews.filter(round=1)} == {old_hash}


def test_it_refuses_a_stale_form_from_the_previous_round(client_for, drafter, officer, head):
    document = factories.submitted_document(drafter=drafter)
    stale = current_review(document)
    factories.approve_by(document, officer)
    services.return_for_changes(document=document, user=head, reason=REASON)
    factories.submit(fresh(document))

    response = client_for(officer).post(
        url("approve", document), {"password": PASSWORD, "review": stale.pk, "opinion": "同意"}, follow=True
    )

    assert factories.messages_of(response) == [
        zh("Someone else has already decided this stage; the piece is now at %(stage)s.", stage="初审")
    ]
    document = fresh(document)
    assert (document.round, document.current_stage.name) == (2, "初审")
    assert current_review(document).decision == StageReview.Decision.PENDING
    assert last_event(document).action == LogAction.REFUSED


def test_it_rejects_the_piece_for_good(client_for, drafter, officer, publisher):
    document = factories.submitted_document(drafter=drafter)
    review = current_review(document)

    response = client_for(officer).post(url("reject", document), {"review": review.pk, "opinion": "内容不宜发布。"})

    assert response.status_code == 302
    document = fresh(document)
    assert document.state == Document.State.REJECTED
    assert document.current_stage is None
    assert payload(last_event(document)) == {
        "action": AuditAction.REJECTED,
        "actor": officer,
        "actor_name": "李信",
        "actor_role": Role.INFORMATION_OFFICER,
        "from_state": Document.State.IN_REVIEW,
        "to_state": Document.State.REJECTED,
        "comment": "内容不宜发布。",
        "data": {
            "round": 1,
            "stage": "初审",
            "stage_review": review.pk,
            "revision": document.current_revision.content_hash,
        },
    }
    assert list(document.stage_reviews.values_list("decision", flat=True).order_by("stage__position")) == [
        StageReview.Decision.REJECTED,
        StageReview.Decision.CANCELLED,
        StageReview.Decision.CANCELLED,
    ]
    assert not document.granted(drafter, "change_document")
    client_for(drafter).post(url("submit", document), {"note": "已补充。"})
    assert fresh(document).state == Document.State.REJECTED


def test_it_requires_a_reason_to_reject(client_for, drafter, officer):
    document = factories.submitted_document(drafter=drafter)

    response = client_for(officer).post(url("reject", document), {"review": current_review(document).pk})

    assert response.status_code == 400
    assert fresh(document).state == Document.State.IN_REVIEW
