"""One rule layer: the web pages and the API go through the same services, so the same request meets the same rule,
the same answer (in each one's terms) and the same audit event."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditAction as AccountsAction
from audit.labels import Action
from audit.models import AuditEvent
from review import services
from review.models import Document
from review.permissions import actions_for
from tests import factories
from tests.api import api_client, clean_throttles  # noqa: F401 (an autouse fixture)
from tests.factories import PASSWORD, Role, zh

pytestmark = pytest.mark.django_db

FUTURE = "That time is in the future; record a publication once it is out."
BEFORE = "The piece did not exist yet at that time."


def new_events(before: int) -> list[tuple]:
    return list(AuditEvent.objects.filter(sequence__gt=before).values_list("action", "data").order_by("sequence"))


@pytest.fixture
def approved(drafter, officer, head, leader):
    return factories.approved_document(officer, head, leader, drafter=drafter)


@pytest.mark.parametrize(
    ("moment", "message"),
    [(datetime.timedelta(days=3), FUTURE), (-datetime.timedelta(days=400), BEFORE)],
)
def test_publication_time_limits_hold_on_the_web_as_in_the_api(client_for, publisher, approved, moment, message):
    when = timezone.localtime() + moment

    web = client_for(publisher).post(
        reverse("review:document_publish", args=[approved.pk]),
        {"channel": "website", "url": "", "published_at": when.strftime("%Y-%m-%dT%H:%M")},
    )
    api = api_client(publisher).post(
        f"/api/v1/documents/{approved.pk}/publish/",
        {"channel": "website", "published_at": when.isoformat()},
        format="json",
    )

    assert web.status_code == 400
    assert web.context["publish_form"].errors == {"published_at": [zh(message)]}
    assert api.status_code == 400
    assert api.json() == {"published_at": [zh(message)]}
    assert factories.fresh(approved).state == Document.State.APPROVED
    assert not approved.publications.exists()


def test_a_wrong_signature_password_is_refused_and_recorded_the_same_way_on_the_web_and_in_the_api(
    client_for, drafter, officer
):
    document = factories.submitted_document(drafter=drafter)
    review = factories.current_review(document)
    web, api = client_for(officer), api_client(officer)
    recorded = []
    for send in (
        lambda: web.post(
            reverse("review:document_approve", args=[document.pk]),
            {"review": review.pk, "password": "guess", **factories.checklist_form(document)},
        ),
        lambda: api.post(
            f"/api/v1/documents/{document.pk}/approve/",
            {"review": review.pk, "password": "guess", "checklist": factories.answers(document)},
            format="json",
        ),
    ):
        before = AuditEvent.objects.order_by("sequence").last().sequence
        response = send()
        assert response.status_code == 400
        recorded.append(new_events(before))

    expected = [
        (AccountsAction.LOGIN_FAILED, {"username": "officer"}),
        (Action.REFUSED, factories.refused("approve", "That password is not correct; nothing was signed.")),
    ]
    assert recorded == [expected, expected]
    assert factories.fresh(document).stage_reviews.filter(decided_by=officer).count() == 0


def test_the_service_checks_the_signature_itself(drafter, officer):
    document = factories.submitted_document(drafter=drafter)

    with pytest.raises(services.BadSignature) as refusal:
        services.approve(document=document, user=officer, password="guess", checklist=factories.answers(document))

    assert refusal.value.field == "password"
    assert factories.fresh(document).current_stage.name == "初审"
    services.approve(document=document, user=officer, password=PASSWORD, checklist=factories.answers(document))
    assert factories.fresh(document).current_stage.name == "复审"


def test_a_late_click_is_a_conflict_everywhere_whichever_action_won(client_for, drafter, officer, department):
    """Two officers see the piece at 初审; one returns it; the other's approval comes late."""
    second_officer = factories.make_user("officer2", roles=[(Role.INFORMATION_OFFICER, department)])
    document = factories.submitted_document(drafter=drafter)
    review = factories.current_review(document)
    checklist_form, answers = factories.checklist_form(document), factories.answers(document)  # the form as shown
    services.return_for_changes(document=document, user=officer, reason="请补充时间。")

    web = client_for(second_officer).post(
        reverse("review:document_approve", args=[document.pk]),
        {"review": review.pk, "password": PASSWORD, **checklist_form},
        follow=True,
    )
    without_review = api_client(second_officer).post(
        f"/api/v1/documents/{document.pk}/approve/", {"password": PASSWORD, "checklist": answers}, format="json"
    )

    assert web.status_code == 200
    assert factories.messages_of(web) == [
        zh("This piece is no longer in review (it is now %(state)s).", state=zh("Returned for changes"))
    ]
    assert without_review.status_code == 409


def test_a_late_click_at_a_stage_decided_by_someone_else_is_a_conflict_even_without_its_review(
    drafter, officer, department
):
    second_officer = factories.make_user("officer2", roles=[(Role.INFORMATION_OFFICER, department)])
    document = factories.submitted_document(drafter=drafter)
    factories.approve_by(document, officer)  # the piece is now at 复审, which second_officer cannot act at

    response = api_client(second_officer).post(
        f"/api/v1/documents/{document.pk}/return/", {"reason": "晚了一步"}, format="json"
    )

    assert response.status_code == 409
    assert response.json() == {
        "detail": zh("Someone else has already decided this stage; the piece is now at %(stage)s.", stage="复审")
    }


def test_editing_a_withdrawn_piece_is_a_conflict_on_the_web_and_in_the_api(client_for, drafter):
    document = services.withdraw(document=factories.submitted_document(drafter=drafter), user=drafter)

    web = client_for(drafter).get(reverse("review:document_edit", args=[document.pk]), follow=True)
    api = api_client(drafter).patch(f"/api/v1/documents/{document.pk}/", {"title": "新标题"}, format="json")

    assert factories.messages_of(web) == [zh("This piece can no longer be edited.")]
    assert api.status_code == 409
    assert api.json() == {"detail": zh("This piece can no longer be edited.")}
    assert factories.fresh(document).title == document.title


def test_the_actions_offered_are_the_same_on_the_page_and_in_the_api(client_for, drafter, officer, publisher, approved):
    in_review = factories.submitted_document(drafter=drafter)
    for user, document in (
        (drafter, factories.make_document(drafter=drafter)),
        (officer, in_review),
        (publisher, approved),
    ):
        page = client_for(user).get(document.get_absolute_url())
        api = api_client(user).get(f"/api/v1/documents/{document.pk}/")
        assert page.context["actions"] == api.json()["actions"] == actions_for(document, user)
