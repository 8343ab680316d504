"""After submission the drafter may still change the piece: the change restarts its review at the first stage,
with a note of what changed for the reviewers. A returned piece goes back with such a note too."""

import datetime

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from review import services
from review.models import Document, StageReview
from tests import factories
from tests.api import api_client, clean_throttles  # noqa: F401 (an autouse fixture)
from tests.factories import fresh, last_event, payload, zh

pytestmark = pytest.mark.django_db

NEW_BODY = "<p>接种时间改为每周三上午。</p>"


def events_since(sequence: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(sequence__gt=sequence).order_by("sequence"))


def test_a_change_in_review_starts_a_new_round_at_the_first_stage(drafter, officer, head):
    document = factories.approve_by(factories.submitted_document(drafter=drafter), officer)
    before = last_event().sequence

    services.edit_document(document=document, user=drafter, body=NEW_BODY, note="改了接种时间")

    document = fresh(document)
    assert (document.state, document.round, document.current_stage.name) == ("in_review", 2, "初审")
    assert document.submission_note == "改了接种时间"
    decisions = document.stage_reviews.order_by("round", "stage__position").values_list("round", "meaning", "decision")
    assert list(decisions) == [
        (1, "初审", "approved"), (1, "复审", "cancelled"), (1, "终审", "cancelled"),
        (2, "初审", "pending"), (2, "复审", "pending"), (2, "终审", "pending"),
    ]  # fmt: skip
    assert document.current_revision.note == "改了接种时间"
    edited, submitted = events_since(before)
    assert (edited.action, edited.data) == ("edited", {"fields": ["body"]})
    assert payload(submitted) == {
        "action": "submitted", "actor": drafter, "actor_name": drafter.printed_name, "actor_role": "",
        "from_state": "in_review", "to_state": "in_review", "comment": "改了接种时间",
        "data": {"round": 2, "stage": "初审", "stages": ["初审", "复审", "终审"], "restarted": True},
    }  # fmt: skip
    # The department head no longer acts: the piece waits at the first stage again, for the officer.
    assert list(Document.objects.awaiting(head)) == [] and list(Document.objects.awaiting(officer)) == [document]


def test_a_change_without_a_note_is_refused_and_changes_nothing(drafter, officer):
    document = factories.submitted_document(drafter=drafter)
    before = last_event().sequence

    with pytest.raises(services.Invalid) as refused:
        services.edit_document(document=document, user=drafter, body=NEW_BODY, note="  ")

    assert refused.value.field == "note"
    document = fresh(document)
    assert (document.body, document.round, document.revisions.count()) == (factories.BODY, 1, 1)
    assert events_since(before) == []  # an input to correct, not a refusal of the person


def test_changing_only_the_due_date_does_not_restart_review(drafter, officer):
    document = factories.submitted_document(drafter=drafter)
    due = datetime.date(2027, 1, 15)

    services.edit_document(document=document, user=drafter, due_date=due)

    document = fresh(document)
    assert (document.due_date, document.round, document.state) == (due, 1, "in_review")
    assert last_event(document).data == {"fields": ["due_date"]}


def test_an_approved_piece_changed_before_publication_is_reviewed_again(drafter, reviewers, publisher):
    document = factories.approved_document(*reviewers, drafter=drafter)

    services.edit_document(document=document, user=drafter, title="更正后的通知", note="标题改了")

    document = fresh(document)
    assert (document.state, document.round, document.current_stage.name) == ("in_review", 2, "初审")
    with pytest.raises(services.Conflict):
        services.publish(document=document, user=publisher, channel="website")


@pytest.mark.parametrize("who", ["officer", "publisher"])
def test_only_the_drafter_changes_a_submitted_piece(request, who, drafter, officer):
    document = factories.submitted_document(drafter=drafter)

    with pytest.raises(services.NotAllowed):
        services.edit_document(document=document, user=request.getfixturevalue(who), body=NEW_BODY, note="改")
    assert fresh(document).body == factories.BODY


def test_a_published_piece_cannot_be_changed(drafter, reviewers, publisher):
    document = factories.approved_document(*reviewers, drafter=drafter)
    services.publish(document=document, user=publisher, channel="website")

    with pytest.raises(services.Conflict):
        services.edit_document(document=document, user=drafter, body=NEW_BODY, note="改")


def test_the_edit_page_warns_and_keeps_what_was_typed(drafter, officer, client_for):
    document = factories.submitted_document(drafter=drafter)
    client = client_for(drafter)
    url = reverse("review:document_edit", args=[document.pk])
    fields = {"title": document.title, "body": NEW_BODY, "kind": "news", "channels": ["website"], "summary": ""}

    page = client.get(url)
    refused = client.post(url, {**fields, "note": ""})
    assert zh("Save and restart review") in page.content.decode()
    assert refused.status_code == 400 and "接种时间改为每周三上午" in refused.content.decode()
    assert fresh(document).round == 1

    saved = client.post(url, {**fields, "note": "改了时间"}, follow=True)

    assert zh("Saved. Review starts again at %(stage)s; your note goes to the reviewers.", stage="初审") in (
        factories.messages_of(saved)
    )
    assert (fresh(document).round, fresh(document).body) == (2, NEW_BODY)
    officer_page = client_for(officer).get(document.get_absolute_url()).content.decode()
    assert zh("What the drafter changed") in officer_page and "改了时间" in officer_page


def test_the_api_changes_a_piece_in_review_with_a_note(drafter, officer):
    document = factories.submitted_document(drafter=drafter)
    client = api_client(drafter)
    path = f"/api/v1/documents/{document.pk}/"

    refused = client.patch(path, {"body": NEW_BODY}, format="json")
    done = client.patch(path, {"body": NEW_BODY, "note": "改了时间"}, format="json")

    assert refused.status_code == 400 and list(refused.json()) == ["note"]
    assert done.status_code == 200
    assert (done.json()["round"], done.json()["submission_note"], done.json()["actions"]) == (
        2,
        "改了时间",
        ["edit", "withdraw"],
    )


# Resubmitting a returned piece.


def returned(drafter, officer) -> Document:
    document = factories.submitted_document(drafter=drafter)
    return services.return_for_changes(document=document, user=officer, reason="请补充开诊时间。")


def test_a_returned_piece_goes_back_with_what_changed(drafter, officer):
    document = returned(drafter, officer)

    with pytest.raises(services.Invalid) as refused:
        services.submit_document(document=document, user=drafter)
    assert (refused.value.field, fresh(document).state) == ("note", "returned")

    services.submit_document(document=document, user=drafter, note="已补充开诊时间")

    document = fresh(document)
    assert (document.state, document.round, document.submission_note) == ("in_review", 2, "已补充开诊时间")
    event = last_event(document)
    assert (event.action, event.comment, event.data["round"]) == ("submitted", "已补充开诊时间", 2)
    assert "restarted" not in event.data


def test_the_piece_page_asks_for_the_note_when_resubmitting(drafter, officer, client_for):
    document = returned(drafter, officer)
    client = client_for(drafter)
    url = reverse("review:document_submit", args=[document.pk])

    refused = client.post(url, {"note": ""})
    done = client.post(url, {"note": "已补充开诊时间"})

    assert refused.status_code == 400
    assert zh("Say briefly what you changed since the piece was returned.") in refused.content.decode()
    assert done.status_code == 302 and fresh(document).state == "in_review"
    assert "已补充开诊时间" in client_for(officer).get(document.get_absolute_url()).content.decode()


def test_the_api_asks_for_the_note_when_resubmitting(drafter, officer):
    document = returned(drafter, officer)
    path = f"/api/v1/documents/{document.pk}/submit/"

    refused = api_client(drafter).post(path, {}, format="json")
    done = api_client(drafter).post(path, {"note": "已补充开诊时间"}, format="json")

    assert (refused.status_code, list(refused.json())) == (400, ["note"])
    assert (done.status_code, done.json()["submission_note"]) == (200, "已补充开诊时间")


def test_the_first_submission_needs_no_note(drafter):
    document = factories.make_document(drafter=drafter)

    response = api_client(drafter).post(f"/api/v1/documents/{document.pk}/submit/")

    assert response.status_code == 200
    assert fresh(document).stage_reviews.filter(decision=StageReview.Decision.PENDING).count() == 3


def test_the_api_still_takes_a_submission_posted_as_an_empty_form(drafter, client_for):
    document = factories.make_document(drafter=drafter)

    response = client_for(drafter).post(f"/api/v1/documents/{document.pk}/submit/")  # multipart, nothing in it

    assert (response.status_code, fresh(document).state) == (200, "in_review")
