"""Rule 3: the drafter never reviews their own piece, and no one acts at two stages of the same piece."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from audit.labels import Action as LogAction
from review import services
from review.models import Document, StageReview
from tests import factories
from tests.factories import PASSWORD, Role, current_review, fresh, last_event, payload, zh

# The database is set up before the per-test fixtures, and checked after them (tests/conftest.py).
pytestmark = pytest.mark.django_db


def url(name, document):
    return reverse(f"review:document_{name}", args=[document.pk])


@pytest.fixture
def drafting_officer(department):
    """An information officer who also writes for the department."""
    return factories.make_user(
        "drafting-officer",
        display_name="钱多多",
        roles=[(Role.DRAFTER, department), (Role.INFORMATION_OFFICER, department)],
    )


@pytest.fixture
def officer_and_head(department):
    """One person holding both the first and the second reviewer's roles."""
    return factories.make_user(
        "officer-and-head",
        display_name="孙两职",
        roles=[(Role.INFORMATION_OFFICER, department), (Role.DEPARTMENT_HEAD, department)],
    )


@pytest.mark.parametrize("action", ["approve", "return", "reject"])
def test_it_refuses_the_drafter_reviewing_their_own_piece(client_for, drafting_officer, action):
    document = factories.submitted_document(drafter=drafting_officer)

    response = client_for(drafting_officer).post(
        url(action, document),
        {"review": current_review(document).pk, "opinion": "自己审自己。", **factories.checklist_form(document)},
    )

    reason = zh("You drafted this piece; someone else must review it.")
    assert response.status_code == 403
    assert escape(reason) in response.content.decode()
    assert current_review(document).decision == StageReview.Decision.PENDING
    assert fresh(document).state == Document.State.IN_REVIEW
    assert payload(last_event(document)) == {
        "action": LogAction.REFUSED,
        "actor": drafting_officer,
        "actor_name": "钱多多",
        "actor_role": "",
        "from_state": Document.State.IN_REVIEW,
        "to_state": Document.State.IN_REVIEW,
        "comment": "",
        "data": factories.refused(action, "You drafted this piece; someone else must review it."),
    }


def test_it_leaves_the_drafters_own_piece_out_of_their_queue(drafting_officer, officer):
    document = factories.submitted_document(drafter=drafting_officer)

    assert not Document.objects.awaiting(drafting_officer).exists()
    assert list(Document.objects.awaiting(officer)) == [document]
    with pytest.raises(services.NotAllowed) as refused:
        services.approve(
            document=document, user=drafting_officer, password=PASSWORD, checklist=factories.answers(document)
        )
    assert refused.value.message == zh("You drafted this piece; someone else must review it.")

    factories.approve_by(document, officer)
    assert fresh(document).current_stage.name == "复审"


def test_it_refuses_one_person_at_two_stages(client_for, drafter, officer_and_head, head):
    document = factories.submitted_document(drafter=drafter)
    client = client_for(officer_and_head)

    response = client.post(
        url("approve", document),
        {
            "password": PASSWORD,
            "review": current_review(document).pk,
            "opinion": "同意。",
            **factories.checklist_form(document),
        },
    )
    assert response.status_code == 302
    assert fresh(document).current_stage.name == "复审"
    assert not Document.objects.awaiting(officer_and_head).exists()

    response = client.post(
        url("approve", document),
        {
            "password": PASSWORD,
            "review": current_review(document).pk,
            "opinion": "同意。",
            **factories.checklist_form(document),
        },
    )

    reason = zh("You already acted at the %(stage)s stage of this piece; no one acts at two stages.", stage="初审")
    assert response.status_code == 403
    assert escape(reason) in response.content.decode()
    assert fresh(document).current_stage.name == "复审"
    assert current_review(document).decision == StageReview.Decision.PENDING
    event = last_event(document)
    assert (event.action, event.actor, event.data) == (
        LogAction.REFUSED,
        officer_and_head,
        factories.refused(
            "approve",
            "You already acted at the %(stage)s stage of this piece; no one acts at two stages.",
            stage="初审",
        ),
    )
    # Someone else holds the second stage.
    factories.approve_by(document, head)
    assert fresh(document).current_stage.name == "终审"


def test_it_refuses_a_return_at_a_second_stage_too(client_for, drafter, officer_and_head):
    document = factories.approve_by(factories.submitted_document(drafter=drafter), officer_and_head)

    response = client_for(officer_and_head).post(
        url("return", document), {"review": current_review(document).pk, "opinion": "退回。"}
    )

    assert response.status_code == 403
    assert fresh(document).state == Document.State.IN_REVIEW


def test_it_remembers_earlier_rounds(drafter, officer, officer_and_head):
    document = factories.approve_by(factories.submitted_document(drafter=drafter), officer)
    services.return_for_changes(document=document, user=officer_and_head, reason="请修改。")
    factories.submit(fresh(document))

    # Having acted at 复审 in the first round, the same person may not take 初审 in the second.
    assert not Document.objects.awaiting(officer_and_head).exists()
    with pytest.raises(services.NotAllowed) as refused:
        services.approve(
            document=document, user=officer_and_head, password=PASSWORD, checklist=factories.answers(document)
        )
    assert refused.value.message == zh(
        "You already acted at the %(stage)s stage of this piece; no one acts at two stages.", stage="复审"
    )
    assert list(Document.objects.awaiting(officer)) == [document]


def test_it_gives_a_superuser_no_override(client_for, drafter):
    admin = factories.make_user("root")
    admin.is_superuser = admin.is_staff = True
    admin.save()
    document = factories.submitted_document(drafter=drafter)

    # A superuser sees everything, and acts on nothing without a role.
    assert client_for(admin).get(document.get_absolute_url()).status_code == 200
    response = client_for(admin).post(
        url("approve", document),
        {"password": PASSWORD, "review": current_review(document).pk, **factories.checklist_form(document)},
    )

    assert response.status_code == 403
    assert current_review(document).decision == StageReview.Decision.PENDING
    assert not Document.objects.awaiting(admin).exists()
