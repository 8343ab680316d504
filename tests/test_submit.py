import pytest
from django.urls import reverse

from audit.labels import Action as LogAction
from audit.models import AuditEvent
from review.models import AuditAction, Document, StageReview, Workflow
from tests import factories
from tests.factories import Role, last_event, payload, zh

# The database is set up before the per-test fixtures, and checked after them (tests/conftest.py).
pytestmark = pytest.mark.django_db


def submit_url(document):
    return reverse("review:document_submit", args=[document.pk])


def test_it_sends_the_piece_to_the_first_stage(client_for, drafter, officer, head):
    document = factories.make_document(drafter=drafter)

    response = client_for(drafter).post(submit_url(document))

    assert response.status_code == 302
    assert response.url == document.get_absolute_url()
    document = factories.fresh(document)
    assert document.state == Document.State.IN_REVIEW
    assert document.current_stage.name == "初审"
    assert document.workflow.name == "三审三校"
    assert document.round == 1
    assert document.submitted_at is not None
    reviews = document.stage_reviews.order_by("stage__position")
    assert [(r.meaning, r.decision, r.round) for r in reviews] == [
        ("初审", StageReview.Decision.PENDING, 1),
        ("复审", StageReview.Decision.PENDING, 1),
        ("终审", StageReview.Decision.PENDING, 1),
    ]
    assert {r.revision_hash for r in reviews} == {document.current_revision.content_hash}
    assert payload(last_event(document)) == {
        "action": AuditAction.SUBMITTED,
        "actor": drafter,
        "actor_name": "张晓雯",
        "actor_role": "",
        "from_state": Document.State.DRAFT,
        "to_state": Document.State.IN_REVIEW,
        "comment": "",
        "data": {"round": 1, "stage": "初审", "stages": ["初审", "复审", "终审"]},
    }


def test_it_moves_the_permissions_along(drafter, officer, head):
    document = factories.make_document(drafter=drafter)
    assert document.granted(drafter, "change_document")
    assert not document.granted(officer, "view_document")

    factories.submit(document)

    # The drafter may still change it, which restarts its review (tests/test_restart.py); not review it.
    assert document.granted(drafter, "change_document")
    assert not document.granted(drafter, "review_document")
    assert document.granted(officer, "view_document")
    assert document.granted(officer, "review_document")
    # The department's head sees it (to reassign a stage) but does not act before 复审.
    assert document.granted(head, "view_document") and not document.granted(head, "review_document")
    assert list(Document.objects.awaiting(officer)) == [document]
    assert not Document.objects.awaiting(head).exists()


def test_it_adds_the_principal_leaders_stage_for_a_major_matter(client_for, drafter):
    document = factories.make_document(drafter=drafter, is_major=True)

    client_for(drafter).post(submit_url(document))

    assert last_event(document).data == {"round": 1, "stage": "初审", "stages": ["初审", "复审", "终审", "审定"]}
    assert factories.fresh(document).stage_reviews.count() == 4


def test_it_refuses_get(client_for, drafter):
    document = factories.make_document(drafter=drafter)

    response = client_for(drafter).get(submit_url(document))

    assert response.status_code == 405
    assert factories.fresh(document).state == Document.State.DRAFT


def test_it_refuses_another_drafter_of_the_department(client_for, drafter, department):
    colleague = factories.make_user(roles=[(Role.DRAFTER, department)])
    document = factories.make_document(drafter=drafter)

    response = client_for(colleague).post(submit_url(document))

    assert response.status_code == 403
    assert factories.fresh(document).state == Document.State.DRAFT
    assert payload(last_event(document)) == {
        "action": LogAction.REFUSED,
        "actor": colleague,
        "actor_name": colleague.username,
        "actor_role": "",
        "from_state": Document.State.DRAFT,
        "to_state": Document.State.DRAFT,
        "comment": "",
        "data": factories.refused("submit", "Only the drafter can submit this piece."),
    }


def test_it_hides_a_draft_from_reviewers_and_outsiders(client_for, drafter, officer, outsider):
    document = factories.make_document(drafter=drafter)

    assert client_for(officer).post(submit_url(document)).status_code == 404
    assert client_for(outsider).post(submit_url(document)).status_code == 404
    assert factories.fresh(document).state == Document.State.DRAFT
    assert last_event(document).action == AuditAction.CREATED


def test_it_refuses_a_second_submission(client_for, drafter):
    document = factories.submitted_document(drafter=drafter)

    response = client_for(drafter).post(submit_url(document), follow=True)

    assert response.redirect_chain[0] == (document.get_absolute_url(), 302)
    assert factories.messages_of(response) == [zh("This piece has already been submitted.")]
    document = factories.fresh(document)
    assert (document.state, document.round, document.stage_reviews.count()) == (Document.State.IN_REVIEW, 1, 3)
    event = last_event(document)
    assert (event.action, event.actor, event.data["attempted"]) == (LogAction.REFUSED, drafter, "submit")


def test_it_refuses_when_no_workflow_applies(client_for, drafter):
    Workflow.objects.update(is_active=False)
    document = factories.make_document(drafter=drafter)

    response = client_for(drafter).post(submit_url(document), follow=True)

    assert factories.messages_of(response) == [
        zh("No review workflow applies to this piece; ask an administrator to set one up.")
    ]
    document = factories.fresh(document)
    assert document.state == Document.State.DRAFT
    assert not document.stage_reviews.exists()
    assert last_event(document).action == LogAction.REFUSED


def test_it_saves_and_submits_in_one_step(client_for, drafter, department):
    response = client_for(drafter).post(
        reverse("review:document_create"),
        {
            "title": "家庭医生签约服务宣传",
            "department": department.pk,
            "kind": "news",
            "channels": ["wechat"],
            "body": "<p>欢迎签约。</p>",
            "submit": "1",
        },
        follow=True,
    )

    document = Document.objects.get()
    assert factories.messages_of(response) == [zh("Saved and submitted for review.")]
    assert (document.state, document.current_stage.name) == (Document.State.IN_REVIEW, "初审")
    actions = list(AuditEvent.objects.about(document).order_by("sequence").values_list("action", flat=True))
    assert actions == [AuditAction.CREATED, AuditAction.SUBMITTED]
