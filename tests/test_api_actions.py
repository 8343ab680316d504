"""API: submit, approve (an electronic signature), return, reject, publish and withdraw, with their refusals."""

import pytest
from django.utils import timezone

from accounts.models import AuditAction as AccountAction
from audit.labels import Action as LogAction
from audit.models import AuditEvent
from review.models import AuditAction, Document, Publication, RouteChecklistItem, StageReview
from tests import factories
from tests.api import api_client, clean_throttles  # noqa: F401 (an autouse fixture)
from tests.factories import PASSWORD, Role, current_review, fresh, last_event, payload, zh

# The throttles live in the database cache: the database is set up before clean_throttles empties it.
pytestmark = pytest.mark.django_db


def url(document, action: str) -> str:
    return f"/api/v1/documents/{document.pk}/{action}/"


def approve(user, document, **body):
    """Approve through the API, answering "yes" to every question of the stage's checklist unless `body` says."""
    checklist = factories.answers(document) if fresh(document).current_stage else []
    return api_client(user).post(
        url(document, "approve"),
        {"opinion": "同意。", "password": PASSWORD, "checklist": checklist, **body},
        format="json",
    )


def ids(response) -> list[int]:
    return [item["id"] for item in response.json()["results"]]


def refusal(document) -> tuple:
    event = last_event(document)
    return event.action, event.actor, event.data["attempted"]


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


# Submitting.


def test_it_submits_a_draft_to_the_first_stage(drafter):
    document = factories.make_document(drafter=drafter)

    response = api_client(drafter).post(url(document, "submit"))

    assert response.status_code == 200
    data = response.json()
    assert (data["state"], data["current_stage"]["name"], data["round"]) == ("in_review", "初审", 1)
    assert data["current_review"] == {
        "id": current_review(document).pk,
        "stage": "初审",
        "meanings": "初审/初校",
        "checklist": [
            {"id": item.pk, "part": item.part, "text": item.text}
            for item in fresh(document).current_stage.checklist.all()
        ],
        "claimed_by": None,
        "due_at": current_review(document).due_at.astimezone().isoformat(),
        "signatures_needed": 1,
        "signatures_given": 0,
    }
    assert [item["part"] for item in data["current_review"]["checklist"]] == ["review"] * 6 + ["proofread"] * 4
    assert payload(last_event(document)) == {
        "action": AuditAction.SUBMITTED,
        "actor": drafter,
        "actor_name": "张晓雯",
        "actor_role": "",
        "from_state": "draft",
        "to_state": "in_review",
        "comment": "",
        "data": {"round": 1, "stage": "初审", "stages": ["初审", "复审", "终审"]},
    }


def test_it_answers_409_to_a_second_submission(drafter):
    document = factories.submitted_document(drafter=drafter)

    response = api_client(drafter).post(url(document, "submit"))

    assert response.status_code == 409
    assert response.json() == {"detail": zh("This piece has already been submitted.")}
    assert refusal(document) == (LogAction.REFUSED, drafter, "submit")


def test_it_refuses_a_submission_by_a_colleague(drafter, department):
    colleague = factories.make_user("colleague", roles=[(Role.DRAFTER, department)])
    document = factories.make_document(drafter=drafter)

    response = api_client(colleague).post(url(document, "submit"))

    assert response.status_code == 403
    assert fresh(document).state == Document.State.DRAFT
    assert refusal(document) == (LogAction.REFUSED, colleague, "submit")


@pytest.mark.parametrize("action", ["submit", "approve", "return", "reject", "publish", "withdraw"])
def test_it_refuses_get_on_actions(drafter, action):
    document = factories.make_document(drafter=drafter)

    assert api_client(drafter).get(url(document, action)).status_code == 405


@pytest.mark.parametrize("action", ["submit", "approve", "return", "reject", "publish", "withdraw"])
def test_it_hides_the_piece_from_outsiders(drafter, outsider, action):
    document = factories.submitted_document(drafter=drafter)
    before = AuditEvent.objects.count()

    response = api_client(outsider).post(url(document, action), {"reason": "x", "password": PASSWORD}, format="json")

    assert response.status_code == 404
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize("action", ["submit", "approve", "return", "reject", "publish", "withdraw"])
def test_it_refuses_anonymous_actions(drafter, action):
    document = factories.submitted_document(drafter=drafter)

    assert api_client().post(url(document, action)).status_code == 401


# Approving: an electronic signature.


def test_it_signs_off_every_stage_to_approval(drafter, officer, head, leader):
    document = factories.submitted_document(drafter=drafter)
    waiting = api_client(officer).get(f"/api/v1/documents/{document.pk}/").json()["current_review"]

    for reviewer, stage in [(officer, "复审"), (head, "终审"), (leader, None)]:
        # The signer answers the questions the piece's current_review asks, and names the review they saw.
        checklist = [{"item": item["id"], "ok": True, "note": ""} for item in waiting["checklist"]]
        response = approve(reviewer, document, review=waiting["id"], checklist=checklist)
        assert response.status_code == 200
        data = response.json()
        assert (data["current_stage"] or {}).get("name") == stage
        waiting = data["current_review"]

    assert (data["state"], data["current_stage"], data["current_review"]) == ("approved", None, None)
    assert [(s["meaning"], s["meanings"], s["signer_name"], s["signer_role"]) for s in data["signatures"]] == [
        ("初审", "初审/初校", "李信", "information_officer"),
        ("复审", "复审/复校", "王建国", "department_head"),
        ("终审", "终审/终校", "陈志强", "publicity_leader"),
    ]
    assert {s["revision_hash"] for s in data["signatures"]} == {fresh(document).current_revision.content_hash}
    for signature in data["signatures"]:
        assert len(signature["checklist"]) == 10
        assert all(answer["ok"] and answer["note"] == "" for answer in signature["checklist"])
        assert (signature["errors"], signature["error_rate"]) == ([], "0.00")
    assert payload(last_event(document)) == {
        "action": AuditAction.APPROVED,
        "actor": leader,
        "actor_name": "陈志强",
        "actor_role": "publicity_leader",
        "from_state": "in_review",
        "to_state": "approved",
        "comment": "同意。",
        "data": {
            "round": 1,
            "stage": "终审",
            "stage_review": StageReview.objects.get(document=document, meaning="终审").pk,
            "revision": fresh(document).current_revision.content_hash,
            "checklist": checklist,  # the answers the leader sent
            "errors": [],
            "error_rate": "0.00",
        },
    }


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("not-my-password", "That password is not correct; nothing was signed."),
        (None, "Enter your password to sign the approval."),
    ],
)
def test_it_refuses_an_approval_without_the_right_password(drafter, officer, password, message):
    document = factories.submitted_document(drafter=drafter)
    before = AuditEvent.objects.count()
    body = {"opinion": "同意。", "checklist": factories.answers(document)}
    if password is not None:
        body["password"] = password

    response = api_client(officer).post(url(document, "approve"), body, format="json")

    assert response.status_code == 400
    assert response.json() == {"password": [zh(message)]}
    assert fresh(document).state == Document.State.IN_REVIEW
    assert current_review(document).decision == StageReview.Decision.PENDING
    events = [(e.action, e.data) for e in AuditEvent.objects.filter(sequence__gt=before).order_by("sequence")]
    if password is None:
        assert events == []
    else:
        # A wrong password is a failed login (it counts toward lockout) and a refused approval.
        assert events == [
            (AccountAction.LOGIN_FAILED, {"username": "officer"}),
            (LogAction.REFUSED, factories.refused("approve", message)),
        ]


def test_it_locks_signing_after_repeated_wrong_passwords(drafter, officer, settings):
    document = factories.submitted_document(drafter=drafter)

    statuses = [approve(officer, document, password="guess").status_code for _ in range(settings.AXES_FAILURE_LIMIT)]
    locked = approve(officer, document)

    assert statuses[0] == 400
    assert statuses[-1] == 429
    # Locked out, the signer's token itself stops working until the lock ends.
    assert locked.status_code == 401
    assert locked.json() == {"detail": zh("Too many failed logins: this account is locked for a while.")}
    assert current_review(document).decision == StageReview.Decision.PENDING


def test_it_refuses_checklist_answers_that_are_not_a_list_of_answers(drafter, officer):
    document = factories.submitted_document(drafter=drafter)

    response = approve(officer, document, checklist={"facts_checked": True})

    assert response.status_code == 400
    assert list(response.json()) == ["checklist"]
    assert current_review(document).decision == StageReview.Decision.PENDING


def test_it_refuses_an_approval_that_leaves_a_question_unanswered(drafter, officer):
    document = factories.submitted_document(drafter=drafter)
    answers = factories.answers(document)
    unanswered = RouteChecklistItem.objects.get(pk=answers[-1]["item"])
    before = AuditEvent.objects.count()

    response = approve(officer, document, checklist=answers[:-1])

    assert response.status_code == 400
    assert response.json() == {
        "checklist": [zh("Answer every question: “%(question)s” has no answer.", question=unanswered.text)]
    }
    assert current_review(document).decision == StageReview.Decision.PENDING
    assert AuditEvent.objects.count() == before


# Four eyes.


@pytest.mark.parametrize("action", ["approve", "return", "reject"])
def test_it_refuses_the_drafter_reviewing_their_own_piece(drafting_officer, action):
    document = factories.submitted_document(drafter=drafting_officer)

    response = api_client(drafting_officer).post(
        url(document, action), {"reason": "自己审自己。", "password": PASSWORD}, format="json"
    )

    reason = zh("You drafted this piece; someone else must review it.")
    assert response.status_code == 403
    assert response.json() == {"detail": reason}
    assert current_review(document).decision == StageReview.Decision.PENDING
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


def test_it_refuses_one_person_at_two_stages(drafter, officer_and_head):
    document = factories.submitted_document(drafter=drafter)
    assert approve(officer_and_head, document).status_code == 200

    response = approve(officer_and_head, document)

    reason = zh("You already acted at the %(stage)s stage of this piece; no one acts at two stages.", stage="初审")
    assert response.status_code == 403
    assert response.json() == {"detail": reason}
    assert fresh(document).current_stage.name == "复审"
    assert refusal(document) == (LogAction.REFUSED, officer_and_head, "approve")


def test_it_refuses_a_reviewer_of_another_stage(drafter, head):
    document = factories.submitted_document(drafter=drafter)  # at 初审; the head acts at 复审

    response = approve(head, document)

    # The head sees the department's pieces in review (to reassign a stage), but acts only at 复审.
    assert response.status_code == 403


def test_it_answers_409_when_someone_else_decided_first(drafter, officer, department):
    second_officer = factories.make_user("officer2", roles=[(Role.INFORMATION_OFFICER, department)])
    document = factories.submitted_document(drafter=drafter)
    seen = current_review(document).pk
    assert approve(officer, document, review=seen).status_code == 200

    response = approve(second_officer, document, review=seen)

    assert response.status_code == 409
    assert response.json() == {
        "detail": zh("Someone else has already decided this stage; the piece is now at %(stage)s.", stage="复审")
    }
    assert refusal(document) == (LogAction.REFUSED, second_officer, "approve")


def test_it_answers_409_to_a_decision_on_a_piece_no_longer_in_review(drafter, officer, head, leader):
    document = factories.approved_document(officer, head, leader, drafter=drafter)

    response = approve(officer, document)

    assert response.status_code == 409
    assert refusal(document) == (LogAction.REFUSED, officer, "approve")


# Returning and rejecting.


@pytest.mark.parametrize(("action", "state"), [("return", "returned"), ("reject", "rejected")])
def test_it_returns_or_rejects_with_a_reason(drafter, officer, action, state):
    document = factories.submitted_document(drafter=drafter)

    response = api_client(officer).post(url(document, action), {"reason": "请补充活动时间。"}, format="json")

    assert response.status_code == 200
    assert (response.json()["state"], response.json()["current_stage"]) == (state, None)
    event = last_event(document)
    assert (event.action, event.comment, event.data["stage"]) == (
        {"return": AuditAction.RETURNED, "reject": AuditAction.REJECTED}[action],
        "请补充活动时间。",
        "初审",
    )


@pytest.mark.parametrize("action", ["return", "reject"])
@pytest.mark.parametrize("body", [{}, {"reason": "   "}])
def test_it_requires_a_reason(drafter, officer, action, body):
    document = factories.submitted_document(drafter=drafter)

    response = api_client(officer).post(url(document, action), body, format="json")

    assert response.status_code == 400
    assert response.json() == {"reason": [zh("Give a reason, so the drafter knows what to do.")]}
    assert fresh(document).state == Document.State.IN_REVIEW


def test_it_lets_the_drafter_edit_and_resubmit_a_returned_piece(drafter, officer):
    document = factories.submitted_document(drafter=drafter)
    api_client(officer).post(url(document, "return"), {"reason": "请补充。"}, format="json")
    client = api_client(drafter)

    edited = client.patch(f"/api/v1/documents/{document.pk}/", {"body": "<p>补充后的正文</p>"}, format="json")
    resubmitted = client.post(url(document, "submit"), {"note": "补充了正文。"}, format="json")

    assert edited.status_code == 200
    assert (resubmitted.json()["state"], resubmitted.json()["round"]) == ("in_review", 2)
    assert resubmitted.json()["revision"]["number"] == 2


# Publishing.


@pytest.fixture
def approved(drafter, officer, head, leader):
    return factories.approved_document(officer, head, leader, drafter=drafter)


def test_it_publishes_an_approved_piece(approved, publisher):
    when = timezone.localtime().replace(microsecond=0).isoformat()
    response = api_client(publisher).post(
        url(approved, "publish"),
        {"channel": "wechat", "url": "https://mp.weixin.qq.com/s/abc", "published_at": when},
        format="json",
    )

    assert response.status_code == 200
    data = response.json()
    assert data["state"] == "published"
    assert data["publications"] == [
        {
            "channel": "wechat",
            "url": "https://mp.weixin.qq.com/s/abc",
            "published_at": when,
            "publisher": {"username": "publisher", "name": "赵敏"},
        }
    ]
    event = last_event(approved)
    assert (event.action, event.actor, event.data["channel"]) == ("published", publisher, "wechat")


def test_it_publishes_now_when_no_time_is_given(approved, publisher):
    response = api_client(publisher).post(url(approved, "publish"), {"channel": "website"}, format="json")

    assert response.status_code == 200
    assert Publication.objects.get().url == ""


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"channel": "weibo"}, ["channel"]),  # not one of the piece's channels
        ({"channel": "website", "url": "not a link"}, ["url"]),
        ({"channel": "website", "published_at": "yesterday"}, ["published_at"]),
        ({}, ["channel"]),
        ({"channel": "website", "published_at": "2000-01-01T08:00:00+08:00"}, ["published_at"]),  # before it existed
        ({"channel": "website", "published_at": "2999-01-01T08:00:00+08:00"}, ["published_at"]),
    ],
)
def test_it_refuses_invalid_publications(approved, publisher, body, fields):
    response = api_client(publisher).post(url(approved, "publish"), body, format="json")

    assert response.status_code == 400
    assert sorted(response.json()) == fields
    assert fresh(approved).state == Document.State.APPROVED


def test_it_refuses_publishing_to_a_non_publisher(approved, drafter):
    response = api_client(drafter).post(url(approved, "publish"), {"channel": "website"}, format="json")

    assert response.status_code == 403
    assert response.json() == {"detail": zh("You are not a publisher for this piece.")}
    assert refusal(approved) == (LogAction.REFUSED, drafter, "publish")


def test_it_answers_409_to_publishing_an_unapproved_piece(drafter, officer, publisher):
    document = factories.submitted_document(drafter=drafter)

    response = api_client(officer).post(url(document, "publish"), {"channel": "website"}, format="json")

    assert response.status_code == 409
    assert response.json() == {"detail": zh("Only an approved piece can be marked published.")}
    assert refusal(document) == (LogAction.REFUSED, officer, "publish")


def test_it_answers_409_to_publishing_a_channel_twice(approved, publisher):
    client = api_client(publisher)
    assert client.post(url(approved, "publish"), {"channel": "website"}, format="json").status_code == 200

    response = client.post(url(approved, "publish"), {"channel": "website"}, format="json")

    assert response.status_code == 409
    assert Publication.objects.count() == 1
    assert refusal(approved) == (LogAction.REFUSED, publisher, "publish")


# Withdrawing.


@pytest.mark.parametrize(
    ("at", "body", "comment", "data"),
    [
        ("draft", {}, "", {}),
        ("复审", {"reason": "活动取消。"}, "活动取消。", {"stage": "复审"}),
    ],
)
def test_it_withdraws_a_piece_at_its_drafters_request(drafter, officer, head, at, body, comment, data):
    if at == "draft":
        document = factories.make_document(drafter=drafter)
    else:
        document = factories.approve_by(factories.submitted_document(drafter=drafter), officer)
    from_state = fresh(document).state
    assert ids(api_client(head).get("/api/v1/queue/")) == ([] if at == "draft" else [document.pk])
    before = AuditEvent.objects.count()

    response = api_client(drafter).post(url(document, "withdraw"), body, format="json")

    assert response.status_code == 200
    result = response.json()
    assert (result["state"], result["current_stage"], result["current_review"]) == ("withdrawn", None, None)
    assert result["actions"] == []
    document = fresh(document)
    assert (document.state, document.current_stage) == (Document.State.WITHDRAWN, None)
    assert not document.stage_reviews.filter(decision=StageReview.Decision.PENDING).exists()
    assert AuditEvent.objects.count() == before + 1
    event = last_event(document)
    assert payload(event) == {
        "action": AuditAction.WITHDRAWN,
        "actor": drafter,
        "actor_name": "张晓雯",
        "actor_role": "",
        "from_state": from_state,
        "to_state": Document.State.WITHDRAWN,
        "comment": comment,
        "data": data,
    }
    assert (event.object_type, event.object_id, event.scope, event.content_hash) == (
        "review.document",
        document.pk,
        str(document.department_id),
        document.current_revision.content_hash,
    )
    # Withdrawn, it waits for no reviewer any more.
    assert ids(api_client(head).get("/api/v1/queue/")) == []


def test_it_refuses_a_withdrawal_by_anyone_but_the_drafter(drafter, officer):
    document = factories.submitted_document(drafter=drafter)

    response = api_client(officer).post(url(document, "withdraw"), {"reason": "不是我的稿件。"}, format="json")

    reason = zh("Only the drafter can withdraw this piece.")
    assert response.status_code == 403
    assert response.json() == {"detail": reason}
    assert fresh(document).state == Document.State.IN_REVIEW
    assert current_review(document).decision == StageReview.Decision.PENDING
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


def test_it_answers_409_to_withdrawing_a_published_piece(approved, publisher, drafter):
    published = api_client(publisher).post(url(approved, "publish"), {"channel": "website"}, format="json")
    assert published.status_code == 200

    response = api_client(drafter).post(url(approved, "withdraw"), {"reason": "信息已过时。"}, format="json")

    assert response.status_code == 409
    assert response.json() == {"detail": zh("This piece can no longer be withdrawn.")}
    assert fresh(approved).state == Document.State.PUBLISHED
    assert refusal(approved) == (LogAction.REFUSED, drafter, "withdraw")


@pytest.mark.parametrize(("persona", "status"), [("officer", 403), ("drafter", 409)])
def test_it_checks_when_and_who_before_the_reason_of_a_withdrawal(request, approved, publisher, persona, status):
    # The piece is published before its drafter tries: a conflict; the officer is not its drafter: a refusal.
    if persona == "drafter":
        published = api_client(publisher).post(url(approved, "publish"), {"channel": "website"}, format="json")
        assert published.status_code == 200
    state = fresh(approved).state
    user = request.getfixturevalue(persona)

    response = api_client(user).post(url(approved, "withdraw"), {"reason": ["not", "text"]}, format="json")

    assert response.status_code == status
    assert fresh(approved).state == state
    assert refusal(approved) == (LogAction.REFUSED, user, "withdraw")
