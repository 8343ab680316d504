"""API: listing, creating, reading and editing pieces, their revisions, history, sign-off sheet and the queue."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.labels import Action as LogAction
from review import services
from review.models import AuditAction, Document, Revision
from tests import factories
from tests.api import api_client, clean_throttles  # noqa: F401 (an autouse fixture)
from tests.factories import Role, fresh, last_event, payload, zh

# The throttles live in the database cache: the database is set up before clean_throttles empties it.
pytestmark = pytest.mark.django_db

DOCUMENTS = "/api/v1/documents/"
QUEUE = "/api/v1/queue/"


def url(document, suffix: str = "") -> str:
    return f"{DOCUMENTS}{document.pk}/{suffix}"


def ids(response) -> list[int]:
    return [item["id"] for item in response.json()["results"]]


def new_piece(department, /, **changes) -> dict:
    return {
        "title": "关于开展健康义诊活动的通知",
        "body": "<p>请广大居民<strong>相互转告</strong>。</p>",
        "department": department.pk,
        "channels": ["website", "wechat"],
        "is_major": False,
        **changes,
    }


# Listing.


def test_it_lists_only_what_the_caller_may_see(drafter, officer, outsider, auditor):
    draft = factories.make_document(drafter=drafter)
    submitted = factories.submitted_document(drafter=drafter)
    elsewhere = factories.make_document(drafter=outsider)

    assert sorted(ids(api_client(drafter).get(DOCUMENTS))) == sorted([draft.pk, submitted.pk])
    assert ids(api_client(officer).get(DOCUMENTS)) == [submitted.pk]  # a draft is nobody's to review yet
    assert ids(api_client(outsider).get(DOCUMENTS)) == [elsewhere.pk]
    assert sorted(ids(api_client(auditor).get(DOCUMENTS))) == sorted([draft.pk, submitted.pk, elsewhere.pk])


def test_it_filters_by_state_and_department(drafter, auditor, outsider, department, other_department):
    draft = factories.make_document(drafter=drafter)
    submitted = factories.submitted_document(drafter=drafter)
    elsewhere = factories.make_document(drafter=outsider)
    client = api_client(auditor)

    assert ids(client.get(DOCUMENTS, {"state": "in_review"})) == [submitted.pk]
    assert sorted(ids(client.get(DOCUMENTS, {"state": "draft"}))) == sorted([draft.pk, elsewhere.pk])
    assert ids(client.get(DOCUMENTS, {"department": other_department.pk})) == [elsewhere.pk]
    assert ids(client.get(DOCUMENTS, {"state": "draft", "department": department.pk})) == [draft.pk]


@pytest.mark.parametrize("query", [{"state": "lost"}, {"department": "x"}, {"department": str(2**70)}])
def test_it_refuses_bad_filters_with_a_message_per_field(auditor, query):
    response = api_client(auditor).get(DOCUMENTS, query)

    assert response.status_code == 400
    assert list(response.json()) == list(query)


def test_it_paginates(drafter):
    for _ in range(27):
        factories.make_document(drafter=drafter)
    client = api_client(drafter)

    first = client.get(DOCUMENTS).json()
    second = client.get(first["next"]).json()

    assert (first["count"], len(first["results"]), first["previous"]) == (27, 25, None)
    assert (len(second["results"]), second["next"]) == (2, None)
    assert client.get(DOCUMENTS, {"page": 9}).status_code == 404


def queries_for(client, path) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(path)
    assert response.status_code == 200
    return len(context)


def add_pieces(count: int, *, drafter, approved_by=()):
    for n in range(count):
        document = factories.submitted_document(drafter=drafter, is_major=n % 3 == 0)
        factories.approve_by(document, *approved_by)


@pytest.mark.parametrize(
    ("persona", "path", "approved_by"),
    [
        ("drafter", DOCUMENTS, []),
        ("officer", DOCUMENTS, []),
        ("auditor", DOCUMENTS, []),
        ("officer", QUEUE, []),
        ("leader", QUEUE, ["officer", "head"]),
    ],
)
def test_it_lists_in_a_constant_number_of_queries(request, drafter, persona, path, approved_by):
    client = api_client(request.getfixturevalue(persona))
    approved_by = [request.getfixturevalue(name) for name in approved_by]
    add_pieces(2, drafter=drafter, approved_by=approved_by)
    client.get(path)  # the first request warms the content type cache
    few = queries_for(client, path)

    add_pieces(10, drafter=drafter, approved_by=approved_by)
    many = queries_for(client, path)

    assert client.get(path).json()["count"] == 12
    assert many == few <= 8


def test_it_queues_what_awaits_the_callers_decision(drafter, officer, head):
    later = factories.submitted_document(drafter=drafter, due_date=timezone.localdate() + datetime.timedelta(days=3))
    sooner = factories.submitted_document(drafter=drafter, due_date=timezone.localdate() + datetime.timedelta(days=1))
    factories.make_document(drafter=drafter)

    assert ids(api_client(officer).get(QUEUE)) == [sooner.pk, later.pk]
    assert ids(api_client(head).get(QUEUE)) == []
    assert ids(api_client(drafter).get(QUEUE)) == []


# Creating.


def test_it_creates_a_draft_with_a_sanitised_body(drafter, department):
    response = api_client(drafter).post(
        DOCUMENTS,
        new_piece(department, body='<p onclick="x()">请<script>alert(1)</script>转告</p>', kind="notice"),
        format="json",
    )

    assert response.status_code == 201
    data = response.json()
    document = Document.objects.get()
    assert response["Location"] == url(document)
    assert (data["id"], data["state"], data["body"]) == (document.pk, "draft", "<p>请转告</p>")
    assert (data["kind"], data["channels"], data["is_major"]) == ("notice", ["website", "wechat"], False)
    assert data["revision"] == {"number": 1, "content_hash": document.current_revision.content_hash}
    assert data["actions"] == ["edit", "submit", "withdraw"]
    assert payload(last_event(document)) == {
        "action": AuditAction.CREATED,
        "actor": drafter,
        "actor_name": "张晓雯",
        "actor_role": "",
        "from_state": "",
        "to_state": "draft",
        "comment": "",
        "data": {},
    }


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"title": "", "channels": []}, ["title", "channels"]),
        # Nothing is left of the body once sanitised: the service refuses it (the serializer found nothing wrong).
        ({"body": "<script>x</script>"}, ["body"]),
        ({"channels": []}, ["channels"]),
        ({"channels": ["fax"]}, ["channels"]),
        ({"department": 999999}, ["department"]),
        ({"is_major": "perhaps", "due_date": "tomorrow"}, ["is_major", "due_date"]),
    ],
)
def test_it_refuses_invalid_pieces_with_a_message_per_field(drafter, department, changes, fields):
    response = api_client(drafter).post(DOCUMENTS, new_piece(department, **changes), format="json")

    assert response.status_code == 400
    assert sorted(response.json()) == sorted(fields)
    assert not Document.objects.exists()


def test_it_refuses_creation_to_someone_who_drafts_nowhere_and_logs_it(officer, department):
    response = api_client(officer).post(DOCUMENTS, new_piece(department), format="json")

    reason = zh("You do not draft for any department; ask an administrator for the drafter role.")
    assert response.status_code == 403
    assert response.json() == {"detail": reason}
    event = last_event()
    assert (event.action, event.actor, event.data) == (
        LogAction.REFUSED,
        officer,
        factories.refused("create", "You do not draft for any department; ask an administrator for the drafter role."),
    )


def test_it_refuses_creation_in_a_department_the_caller_does_not_draft_for(drafter, other_department):
    response = api_client(drafter).post(DOCUMENTS, new_piece(other_department), format="json")

    assert response.status_code == 403
    assert not Document.objects.exists()
    assert last_event().data["attempted"] == "create"


def test_it_refuses_anonymous_creation(department):
    assert api_client().post(DOCUMENTS, new_piece(department), format="json").status_code == 401


# Reading.


def test_it_shows_a_piece_with_its_signatures(drafter, officer, head):
    document = factories.approve_by(factories.submitted_document(drafter=drafter), officer)

    data = api_client(head).get(url(document)).json()

    document = fresh(document)
    first = document.stage_reviews.get(stage__position=1)
    current = document.stage_reviews.get(stage__position=2)
    assert (data["state"], data["current_stage"]["name"], data["round"]) == ("in_review", "复审", 1)
    assert data["current_review"] == {
        "id": current.pk,
        "stage": "复审",
        "meanings": "复审/复校",
        "checklist": [{"id": item.pk, "part": item.part, "text": item.text} for item in current.stage.checklist.all()],
        "claimed_by": None,
        "due_at": current.due_at.astimezone().isoformat(),
        "signatures_needed": 1,
        "signatures_given": 0,
    }
    assert len(data["current_review"]["checklist"]) == 10
    assert data["revision"] == {"number": 1, "content_hash": document.current_revision.content_hash}
    assert data["signatures"] == [
        {
            "meaning": "初审",
            "signer_name": "李信",
            "on_behalf_of_name": "",
            "signer_role": "information_officer",
            "decision": "approved",
            "opinion": "同意。",
            "decided_at": timezone.localtime(first.decided_at).isoformat(),
            "revision_hash": document.current_revision.content_hash,
            "round": 1,
            "meanings": "初审/初校",
            "checklist": [
                {"item": item.pk, "part": item.part, "text": item.text, "ok": True, "note": ""}
                for item in first.stage.checklist.all()
            ],
            "errors": [],
            "error_rate": "0.00",
        }
    ]
    assert data["actions"] == ["correct", "approve", "return", "reject"]


def test_it_hides_a_piece_from_those_who_may_not_see_it(drafter, outsider, officer):
    draft = factories.make_document(drafter=drafter)

    assert api_client(outsider).get(url(draft)).status_code == 404
    assert api_client(officer).get(url(draft)).status_code == 404  # not submitted yet
    assert api_client(outsider).get(f"{DOCUMENTS}999999/").status_code == 404
    assert api_client().get(url(draft)).status_code == 401


# Editing.


def test_it_edits_a_draft_into_a_new_revision(drafter):
    document = factories.make_document(drafter=drafter)

    response = api_client(drafter).patch(
        url(document), {"title": "新标题", "body": "<p>新正文</p>", "is_major": True}, format="json"
    )

    assert response.status_code == 200
    data = response.json()
    assert (data["title"], data["body"], data["is_major"], data["revision"]["number"]) == (
        "新标题",
        "<p>新正文</p>",
        True,
        2,
    )
    assert last_event(document).data == {"fields": ["body", "is_major", "title"]}


def test_it_refuses_an_edit_by_someone_else_who_sees_the_piece(drafter, department):
    colleague = factories.make_user("colleague", roles=[(Role.DRAFTER, department)])
    document = factories.make_document(drafter=drafter)

    response = api_client(colleague).patch(url(document), {"title": "改"}, format="json")

    assert response.status_code == 403
    assert fresh(document).title == document.title
    assert (last_event(document).action, last_event(document).data["attempted"]) == ("refused", "edit")


def test_it_answers_409_to_an_edit_after_withdrawal(drafter):
    document = services.withdraw(document=factories.submitted_document(drafter=drafter), user=drafter)

    response = api_client(drafter).patch(url(document), {"title": "改"}, format="json")

    assert response.status_code == 409
    assert response.json() == {"detail": zh("This piece can no longer be edited.")}
    assert last_event(document).action == LogAction.REFUSED


def test_it_keeps_the_department_fixed(drafter, other_department):
    document = factories.make_document(drafter=drafter)

    response = api_client(drafter).patch(url(document), {"department": other_department.pk}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["department"]


@pytest.mark.parametrize("method", ["put", "delete"])
def test_it_refuses_replacing_or_deleting_a_piece(drafter, method):
    document = factories.make_document(drafter=drafter)

    response = getattr(api_client(drafter), method)(url(document), new_piece(document.department), format="json")

    assert response.status_code == 405
    assert Document.objects.filter(pk=document.pk).exists()


# Revisions, history and the sign-off sheet.


def test_it_lists_revisions_oldest_first(drafter, outsider):
    document = factories.make_document(drafter=drafter, title="第一稿")
    api_client(drafter).patch(url(document), {"title": "第二稿"}, format="json")

    response = api_client(drafter).get(url(document, "revisions/"))

    assert [(r["number"], r["title"]) for r in response.json()] == [(1, "第一稿"), (2, "第二稿")]
    assert response.json()[1]["content_hash"] == Revision.objects.get(number=2).content_hash
    assert api_client(outsider).get(url(document, "revisions/")).status_code == 404


def test_it_shows_a_pieces_history_to_those_who_may_see_it(drafter, officer, outsider, auditor):
    document = factories.submitted_document(drafter=drafter)

    response = api_client(officer).get(url(document, "audit/"))

    assert response.status_code == 200
    assert [event["action"] for event in response.json()["results"]] == ["created", "submitted"]
    assert "ip_address" not in response.json()["results"][0]
    assert api_client(auditor).get(url(document, "audit/")).json()["count"] == 2
    assert api_client(outsider).get(url(document, "audit/")).status_code == 404


def test_it_serves_the_signoff_sheet_and_logs_the_download(drafter, officer, outsider):
    document = factories.submitted_document(drafter=drafter)
    factories.approve_by(document, officer)

    response = api_client(officer).get(url(document, "signoff.pdf"), HTTP_ACCEPT="application/pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    event = last_event(document)
    assert (event.action, event.actor, event.data) == ("downloaded", officer, {"format": "signoff_pdf"})
    refused = api_client(outsider).get(url(document, "signoff.pdf"), HTTP_ACCEPT="application/pdf")
    assert (refused.status_code, refused["Content-Type"]) == (404, "application/json")
