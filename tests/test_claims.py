"""Claim and reassign: a reviewer says they are on a piece so the others holding the role see who is; the
department head (or an administrator) hands a stage to someone who may act there, who is told. Each is audited."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from review import services
from review.models import Notification
from tests import factories
from tests.api import api_client, clean_throttles  # noqa: F401 (an autouse fixture)
from tests.factories import Role, current_review, last_event, payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_officer(department):
    return factories.make_user("officer_b", display_name="周明", roles=[(Role.INFORMATION_OFFICER, department)])


def test_a_reviewer_claims_and_the_others_see_it(drafter, officer, second_officer, client_for):
    document = factories.submitted_document(drafter=drafter)

    response = client_for(officer).post(reverse("review:document_claim", args=[document.pk]))

    assert response.status_code == 302
    assert current_review(document).claimed_by == officer
    assert payload(last_event(document)) == {
        "action": "claimed", "actor": officer, "actor_name": officer.printed_name, "actor_role": "information_officer",
        "from_state": "", "to_state": "", "comment": "", "data": {"stage": "初审", "previous": None},
    }  # fmt: skip
    queue = client_for(second_officer).get(reverse("review:queue"))
    [card] = queue.context["page"].object_list
    assert card.claimer == officer
    assert f"{officer.printed_name}" in queue.content.decode()
    # It locks nothing: the other officer may still decide.
    assert "approve" in api_client(second_officer).get(f"/api/v1/documents/{document.pk}/").json()["actions"]


def test_claiming_twice_records_once(drafter, officer):
    document = factories.submitted_document(drafter=drafter)
    services.claim(document=document, user=officer)
    before = AuditEvent.objects.count()

    services.claim(document=document, user=officer)

    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("who", ["drafter", "head", "publisher"])
def test_only_someone_who_may_act_claims(request, who, drafter, officer):
    document = factories.submitted_document(drafter=drafter)

    with pytest.raises(services.NotAllowed):
        services.claim(document=document, user=request.getfixturevalue(who))
    assert current_review(document).claimed_by is None
    assert last_event(document).data["attempted"] == "claim"


def test_the_claimer_releases_it(drafter, officer, second_officer):
    document = factories.submitted_document(drafter=drafter)
    services.claim(document=document, user=officer)

    with pytest.raises(services.NotAllowed):
        services.release(document=document, user=second_officer)
    services.release(document=document, user=officer)

    assert current_review(document).claimed_by is None
    assert last_event(document).data == {"stage": "初审", "released": officer.printed_name}


def test_the_department_head_reassigns_and_the_new_reviewer_is_told(
    drafter, officer, second_officer, head, django_capture_on_commit_callbacks
):
    document = factories.submitted_document(drafter=drafter)
    services.claim(document=document, user=officer)

    with django_capture_on_commit_callbacks(execute=True):
        services.reassign(document=document, user=head, to=second_officer)

    assert current_review(document).claimed_by == second_officer
    assert last_event(document).data == {
        "stage": "初审", "to": "周明", "to_id": second_officer.pk, "previous": officer.printed_name
    }  # fmt: skip
    assert list(Notification.objects.filter(event="assigned").values_list("recipient__username", flat=True)) == [
        "officer_b"
    ]


def test_a_reassignment_keeps_four_eyes(drafter, officer, head, department):
    drafting_officer = factories.make_user(roles=[(Role.INFORMATION_OFFICER, department), (Role.DRAFTER, department)])
    document = factories.submitted_document(drafter=drafting_officer)

    with pytest.raises(services.Invalid) as refused:
        services.reassign(document=document, user=head, to=drafting_officer)

    assert refused.value.field == "to"
    assert current_review(document).claimed_by is None
    assert services.reassign_candidates(document) == [officer]


def test_only_the_department_head_or_an_administrator_reassigns(drafter, officer, second_officer, leader):
    document = factories.submitted_document(drafter=drafter)

    with pytest.raises(services.NotAllowed):
        services.reassign(document=document, user=officer, to=second_officer)
    with pytest.raises(services.NotAllowed):
        services.reassign(document=document, user=leader, to=second_officer)
    admin = factories.make_user("root")
    admin.is_superuser = True
    admin.save()
    services.reassign(document=document, user=admin, to=second_officer)
    assert current_review(document).claimed_by == second_officer


def test_the_api_claims_releases_and_reassigns(drafter, officer, second_officer, head):
    document = factories.submitted_document(drafter=drafter)
    path = f"/api/v1/documents/{document.pk}/"

    claimed = api_client(officer).post(path + "claim/")
    assert claimed.status_code == 200
    assert claimed.json()["current_review"]["claimed_by"] == {
        "username": officer.username,
        "name": officer.printed_name,
    }
    assert api_client(officer).post(path + "release/").json()["current_review"]["claimed_by"] is None
    refused = api_client(head).post(path + "reassign/", {"to": drafter.pk}, format="json")
    assert (refused.status_code, list(refused.json())) == (400, ["to"])
    done = api_client(head).post(path + "reassign/", {"to": second_officer.pk}, format="json")
    assert done.json()["current_review"]["claimed_by"]["username"] == "officer_b"


def test_claims_are_post_only_and_end_with_the_stage(drafter, officer, head, client_for):
    document = factories.submitted_document(drafter=drafter)
    client = client_for(officer)

    assert client.get(reverse("review:document_claim", args=[document.pk])).status_code == 405
    client.post(reverse("review:document_claim", args=[document.pk]))
    factories.approve_by(document, officer)

    assert current_review(document).claimed_by is None  # the next stage starts unclaimed
