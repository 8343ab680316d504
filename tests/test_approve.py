import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from audit.labels import Action as LogAction
from audit.models import AuditEvent
from review import services
from review.models import AuditAction, Document, StageReview
from tests import factories
from tests.factories import PASSWORD, Role, current_review, fresh, last_event, payload, zh

# The database is set up before the per-test fixtures, and checked after them (tests/conftest.py).
pytestmark = pytest.mark.django_db


def approve_url(document):
    return reverse("review:document_approve", args=[document.pk])


def signed(document, **fields) -> dict:
    """Return an approval's fields: the password, a "yes" to every question of the stage's checklist, and `fields`."""
    return {"password": PASSWORD, **factories.checklist_form(document), **fields}


def refused_event(document, actor, message: str, attempted: str = "approve", **params):
    state = fresh(document).state
    return {
        "action": LogAction.REFUSED,
        "actor": actor,
        "actor_name": actor.printed_name,
        "actor_role": "",
        "from_state": state,
        "to_state": state,
        "comment": "",
        "data": factories.refused(attempted, message, **params),
    }


def test_it_signs_off_the_first_stage_and_moves_on(client_for, drafter, officer, head):
    document = factories.submitted_document(drafter=drafter)
    review = current_review(document)
    checklist = factories.answers(document)

    response = client_for(officer).post(
        approve_url(document), signed(document, review=review.pk, opinion="同意，可送复审。")
    )

    assert response.status_code == 302
    assert response.url == document.get_absolute_url()
    document = fresh(document)
    assert document.state == Document.State.IN_REVIEW
    assert document.current_stage.name == "复审"
    assert payload(last_event(document)) == {
        "action": AuditAction.APPROVED,
        "actor": officer,
        "actor_name": "李信",
        "actor_role": Role.INFORMATION_OFFICER,
        "from_state": Document.State.IN_REVIEW,
        "to_state": Document.State.IN_REVIEW,
        "comment": "同意，可送复审。",
        "data": {
            "round": 1,
            "stage": "初审",
            "stage_review": review.pk,
            "revision": document.current_revision.content_hash,
            "checklist": checklist,
            "errors": [],
            "error_rate": "0.00",
        },
    }
    assert len(checklist) == 10  # every question of 初审/初校, answered "yes"
    assert not document.granted(officer, "review_document")
    assert document.granted(officer, "view_document")
    assert document.granted(head, "review_document")


def test_it_signs_the_exact_content(client_for, drafter, officer):
    document = factories.submitted_document(drafter=drafter)
    review = current_review(document)

    client_for(officer).post(approve_url(document), signed(document, review=review.pk, opinion="同意。"))

    review.refresh_from_db()
    assert review.decision == StageReview.Decision.APPROVED
    assert review.decided_by == officer
    assert review.decided_at is not None
    assert review.signer_name == "李信"
    assert review.signer_role == Role.INFORMATION_OFFICER
    with translation.override("zh-hans"):
        assert review.signer_role_label == zh("Information officer")
    assert review.meaning == "初审"
    assert review.opinion == "同意。"
    assert review.revision == document.current_revision
    assert review.revision_hash == document.current_revision.content_hash


def test_it_approves_the_piece_at_the_last_stage(client_for, drafter, officer, head, leader, publisher):
    document = factories.approved_document(officer, head, drafter=drafter)
    review = current_review(document)
    checklist = factories.answers(document)

    response = client_for(leader).post(approve_url(document), signed(document, review=review.pk, opinion="同意发布。"))

    assert response.status_code == 302
    document = fresh(document)
    assert document.state == Document.State.APPROVED
    assert document.current_stage is None
    assert payload(last_event(document)) == {
        "action": AuditAction.APPROVED,
        "actor": leader,
        "actor_name": "陈志强",
        "actor_role": Role.PUBLICITY_LEADER,
        "from_state": Document.State.IN_REVIEW,
        "to_state": Document.State.APPROVED,
        "comment": "同意发布。",
        "data": {
            "round": 1,
            "stage": "终审",
            "stage_review": review.pk,
            "revision": document.current_revision.content_hash,
            "checklist": checklist,
            "errors": [],
            "error_rate": "0.00",
        },
    }
    signatures = document.stage_reviews.order_by("stage__position")
    assert [(s.meaning, s.signer_name, s.signer_role, s.decision) for s in signatures] == [
        ("初审", "李信", Role.INFORMATION_OFFICER, StageReview.Decision.APPROVED),
        ("复审", "王建国", Role.DEPARTMENT_HEAD, StageReview.Decision.APPROVED),
        ("终审", "陈志强", Role.PUBLICITY_LEADER, StageReview.Decision.APPROVED),
    ]
    assert {s.revision_hash for s in signatures} == {document.current_revision.content_hash}
    assert document.granted(publisher, "publish_document")


def test_it_goes_to_the_queue_when_more_work_waits(client_for, drafter, officer):
    document = factories.submitted_document(drafter=drafter)
    factories.submitted_document(drafter=drafter)

    response = client_for(officer).post(approve_url(document), signed(document, review=current_review(document).pk))

    assert response.status_code == 302
    assert response.url == reverse("review:queue")


def test_it_refuses_get(client_for, drafter, officer):
    document = factories.submitted_document(drafter=drafter)

    assert client_for(officer).get(approve_url(document)).status_code == 405
    assert current_review(document).decision == StageReview.Decision.PENDING


def test_it_hides_the_piece_from_another_department(client_for, drafter, outsider):
    document = factories.submitted_document(drafter=drafter)

    response = client_for(outsider).post(approve_url(document), signed(document, review=current_review(document).pk))

    assert response.status_code == 404
    assert current_review(document).decision == StageReview.Decision.PENDING
    assert last_event(document).action == AuditAction.SUBMITTED


def test_it_refuses_the_wrong_stages_reviewer(client_for, drafter, officer, head):
    document = factories.submitted_document(drafter=drafter)
    factories.approve_by(document, officer)
    review = current_review(document)

    # The officer still sees the piece, but 复审 is the department head's.
    response = client_for(officer).post(approve_url(document), signed(document, review=review.pk))

    reason = zh("You do not hold the role that acts at this stage.")
    assert response.status_code == 403
    assert escape(reason) in response.content.decode()
    assert fresh(document).current_stage.name == "复审"
    assert current_review(document).decision == StageReview.Decision.PENDING
    assert payload(last_event(document)) == refused_event(
        document, officer, "You do not hold the role that acts at this stage."
    )


def test_it_refuses_a_later_stages_reviewer_who_can_see_the_piece(client_for, drafter, department):
    # Also a drafter of the department, so the head sees the piece before 复审.
    head = factories.make_user(roles=[(Role.DEPARTMENT_HEAD, department), (Role.DRAFTER, department)])
    document = factories.submitted_document(drafter=drafter)

    response = client_for(head).post(approve_url(document), signed(document, review=current_review(document).pk))

    assert response.status_code == 403
    assert fresh(document).current_stage.name == "初审"
    assert current_review(document).decision == StageReview.Decision.PENDING


def test_it_refuses_the_auditor(client_for, drafter, auditor):
    document = factories.submitted_document(drafter=drafter)

    response = client_for(auditor).post(approve_url(document), signed(document, review=current_review(document).pk))

    assert response.status_code == 403
    assert current_review(document).decision == StageReview.Decision.PENDING
    assert last_event(document).action == LogAction.REFUSED


def test_it_refuses_a_draft_with_a_message(client_for, drafter, auditor):
    document = factories.make_document(drafter=drafter)

    response = client_for(auditor).post(approve_url(document), {"password": PASSWORD, "opinion": "同意"}, follow=True)

    reason = zh("This piece is no longer in review (it is now %(state)s).", state=zh("Draft"))
    assert response.redirect_chain == [(document.get_absolute_url(), 302)]
    assert factories.messages_of(response) == [reason]
    assert fresh(document).state == Document.State.DRAFT
    assert payload(last_event(document)) == refused_event(
        document, auditor, "This piece is no longer in review (it is now %(state)s).", state="Draft"
    )


def test_it_refuses_an_approved_piece_with_a_message(client_for, drafter, officer, head, leader):
    document = factories.approved_document(officer, head, leader, drafter=drafter)
    review = document.stage_reviews.get(meaning="终审")

    response = client_for(leader).post(approve_url(document), {"password": PASSWORD, "review": review.pk}, follow=True)

    assert factories.messages_of(response) == [
        zh("This piece is no longer in review (it is now %(state)s).", state=zh("Approved"))
    ]
    assert fresh(document).state == Document.State.APPROVED
    assert AuditEvent.objects.about(document).filter(action=AuditAction.APPROVED).count() == 3
    assert last_event(document).action == LogAction.REFUSED


def test_it_refuses_a_stale_form_for_an_earlier_stage(client_for, drafter, officer, head):
    document = factories.submitted_document(drafter=drafter)
    first = current_review(document)
    factories.approve_by(document, officer)

    response = client_for(head).post(
        approve_url(document), signed(document, review=first.pk, opinion="同意"), follow=True
    )

    reason = zh("Someone else has already decided this stage; the piece is now at %(stage)s.", stage="复审")
    assert factories.messages_of(response) == [reason]
    document = fresh(document)
    assert document.current_stage.name == "复审"
    assert current_review(document).decision == StageReview.Decision.PENDING
    first.refresh_from_db()
    assert (first.decided_by, first.opinion) == (officer, "同意。")
    assert payload(last_event(document)) == refused_event(
        document, head, "Someone else has already decided this stage; the piece is now at %(stage)s.", stage="复审"
    )


@pytest.fixture
def second_officer(department):
    return factories.make_user("officer2", display_name="吴芳", roles=[(Role.INFORMATION_OFFICER, department)])


@pytest.mark.parametrize("late", ["officer", "second_officer"])
def test_it_changes_nothing_on_a_repeated_or_late_click(request, client_for, drafter, officer, second_officer, late):
    document = factories.submitted_document(drafter=drafter)
    data = signed(document, review=current_review(document).pk, opinion="同意")
    client_for(officer).post(approve_url(document), data)

    client_for(request.getfixturevalue(late)).post(approve_url(document), data)

    document = fresh(document)
    assert document.current_stage.name == "复审"
    assert current_review(document).decision == StageReview.Decision.PENDING
    assert AuditEvent.objects.about(document).filter(action=AuditAction.APPROVED).count() == 1
    assert document.stage_reviews.get(meaning="初审").decided_by == officer


@pytest.mark.parametrize("late", ["officer", "second_officer"])
def test_it_answers_a_repeated_or_late_click_with_the_conflict(
    request, client_for, drafter, officer, second_officer, late
):
    document = factories.submitted_document(drafter=drafter)
    data = signed(document, review=current_review(document).pk, opinion="同意")
    client_for(officer).post(approve_url(document), data)

    response = client_for(request.getfixturevalue(late)).post(approve_url(document), data, follow=True)

    assert response.redirect_chain == [(document.get_absolute_url(), 302)]
    assert factories.messages_of(response) == [
        zh("Someone else has already decided this stage; the piece is now at %(stage)s.", stage="复审")
    ]


def test_it_refuses_a_stale_review_id_in_the_service(drafter, officer, head):
    document = factories.submitted_document(drafter=drafter)
    first = current_review(document)
    factories.approve_by(document, officer)

    with pytest.raises(services.Conflict):
        services.approve(
            document=document, user=head, password=PASSWORD, review_id=first.pk, checklist=factories.answers(document)
        )
    assert fresh(document).current_stage.name == "复审"
