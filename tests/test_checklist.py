"""三校: every stage has a review part and a proofreading part, each with its checklist; a signature answers every
question, may record the errors found, and carries the error rate (差错率) onto the record and the sheet."""

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from pypdf import PdfReader

from audit.models import AuditEvent
from review import services
from review.models import ChecklistAnswer, ChecklistItem, ErrorCategory, RecordedError, Stage, StageReview
from review.pdf import signoff_sheet_pdf
from review.proofreading import character_count, error_rate, plain_text
from tests import factories
from tests.api import api_client, clean_throttles  # noqa: F401 (an autouse fixture)
from tests.factories import PASSWORD, zh

pytestmark = pytest.mark.django_db

# 45 characters a proofreader reads: 4 in the title, 21 and 20 in the body's paragraphs (markup does not count).
TITLE = "疫苗通知"
BODY = "<p>请广大居民相互转告，如有疑问请咨询卫生院。</p><p>接种时间为每周二上午，地点在卫生院二楼。</p>"


def approve_url(document):
    return f"/api/v1/documents/{document.pk}/approve/"


def category(name: str) -> ErrorCategory:
    return ErrorCategory.objects.get(name=name)


def test_the_default_workflow_reviews_and_proofreads_at_every_stage():
    stages = Stage.objects.filter(workflow__name="三审三校").order_by("position")

    assert [(s.name, s.proofread_name) for s in stages] == [
        ("初审", "初校"),
        ("复审", "复校"),
        ("终审", "终校"),
        ("审定", ""),
    ]
    first = stages[0].checklist.all()
    assert [item.part for item in first] == ["review"] * 6 + ["proofread"] * 4
    assert "保密关：不涉及国家秘密、工作秘密和个人隐私" in {item.text for item in first}
    assert [item.part for item in stages[3].checklist.all()] == ["review"] * 6
    assert [(c.name, c.weight) for c in ErrorCategory.objects.all()] == [
        ("错字、漏字、多字", Decimal("1.0")),
        ("知识性、逻辑性、语法性差错", Decimal("2.0")),
        ("政治性差错", Decimal("3.0")),
        ("标点符号差错", Decimal("0.5")),
    ]


def test_the_piece_copies_the_checklists_and_keeps_them(drafter, officer):
    document = factories.submitted_document(drafter=drafter)
    definition = Stage.objects.get(workflow__name="三审三校", position=1)
    ChecklistItem.objects.filter(stage=definition).update(text="改过的问题")
    ChecklistItem.objects.create(stage=definition, part="review", position=99, text="新加的问题")

    response = api_client(officer).get(f"/api/v1/documents/{document.pk}/")

    current = response.json()["current_review"]
    assert current["id"] == factories.current_review(document).pk
    assert (current["stage"], current["meanings"]) == ("初审", "初审/初校")
    assert len(current["checklist"]) == 10
    assert {item["text"] for item in current["checklist"]}.isdisjoint({"改过的问题", "新加的问题"})
    assert [item["part"] for item in current["checklist"]] == ["review"] * 6 + ["proofread"] * 4
    assert set(current["checklist"][0]) == {"id", "part", "text"}


def test_an_approval_without_every_answer_is_refused_naming_the_question(drafter, officer):
    document = factories.submitted_document(drafter=drafter)
    answers = factories.answers(document)
    first_question = factories.fresh(document).current_stage.checklist.first().text
    before = AuditEvent.objects.count()

    missing_all = api_client(officer).post(approve_url(document), {"password": PASSWORD}, format="json")
    missing_last = api_client(officer).post(
        approve_url(document), {"password": PASSWORD, "checklist": answers[:-1]}, format="json"
    )

    assert missing_all.status_code == 400
    assert missing_all.json() == {
        "checklist": [zh("Answer every question: “%(question)s” has no answer.", question=first_question)]
    }
    last_question = factories.fresh(document).current_stage.checklist.last().text
    assert missing_last.json() == {
        "checklist": [zh("Answer every question: “%(question)s” has no answer.", question=last_question)]
    }
    assert factories.fresh(document).current_stage.name == "初审"
    # Input to correct, not a refusal: nothing recorded, no failed login counted.
    assert AuditEvent.objects.count() == before


def test_a_no_needs_a_note_saying_what_is_wrong(drafter, officer):
    document = factories.submitted_document(drafter=drafter)
    answers = factories.answers(document)
    answers[2] = {**answers[2], "ok": False, "note": ""}
    question = factories.fresh(document).current_stage.checklist.all()[2].text

    response = api_client(officer).post(
        approve_url(document), {"password": PASSWORD, "checklist": answers}, format="json"
    )

    assert response.json() == {"checklist": [zh("Say what is wrong with “%(question)s”.", question=question)]}


def test_answers_are_part_of_the_signature_and_of_its_audit_event(drafter, officer):
    document = factories.submitted_document(drafter=drafter)
    answers = factories.answers(document)
    answers[0] = {**answers[0], "ok": False, "note": "标题略显生硬，已请撰稿人留意"}

    response = api_client(officer).post(
        approve_url(document), {"password": PASSWORD, "checklist": answers, "opinion": "同意。"}, format="json"
    )

    assert response.status_code == 200
    review = StageReview.objects.get(document=document, meaning="初审")
    stored = [(a.item_id, a.ok, a.note) for a in ChecklistAnswer.objects.filter(review=review)]
    assert stored == [(a["item"], a["ok"], a["note"]) for a in answers]
    event = factories.last_event(document)
    assert event.data["checklist"] == [{"item": a["item"], "ok": a["ok"], "note": a["note"]} for a in answers]
    assert event.data["errors"] == [] and event.data["error_rate"] == "0.00"
    signature = response.json()["signatures"][0]
    assert signature["meanings"] == "初审/初校"
    assert signature["checklist"][0] == {
        "item": answers[0]["item"], "part": "review", "text": review.stage.checklist.first().text, "ok": False,
        "note": "标题略显生硬，已请撰稿人留意",
    }  # fmt: skip


def test_the_web_form_asks_every_question_and_keeps_the_answers_given(client_for, drafter, officer):
    document = factories.submitted_document(drafter=drafter)
    url = reverse("review:document_approve", args=[document.pk])
    client = client_for(officer)
    page = client.get(document.get_absolute_url())
    form = page.context["decision_form"]
    assert [meaning for _part, meaning, _rows in form.parts] == ["初审", "初校"]
    fields = factories.checklist_form(document)
    first, *others = fields

    incomplete = client.post(url, {"review": factories.current_review(document).pk, "password": PASSWORD, first: "yes"})

    assert incomplete.status_code == 400
    second_question = factories.fresh(document).current_stage.checklist.all()[1].text
    assert incomplete.context["decision_form"].non_field_errors() == [
        zh("Answer every question: “%(question)s” has no answer.", question=second_question)
    ]
    assert incomplete.context["decision_form"][first].value() == "yes"
    complete = client.post(url, {"review": factories.current_review(document).pk, "password": PASSWORD, **fields})
    assert complete.status_code == 302
    assert ChecklistAnswer.objects.filter(review__document=document, ok=True).count() == 10


def test_errors_found_give_the_stages_error_rate(drafter, officer, head):
    document = factories.submitted_document(drafter=drafter, title=TITLE, body=BODY)
    assert character_count(TITLE, BODY) == 45
    errors = [
        {"category": category("错字、漏字、多字").pk, "count": 2},
        {"category": category("标点符号差错").pk, "count": 1},
    ]

    response = api_client(officer).post(
        approve_url(document),
        {"password": PASSWORD, "checklist": factories.answers(document), "errors": errors},
        format="json",
    )

    assert response.status_code == 200
    # (2 × 1 + 1 × 0.5) / 45 × 10,000 = 555.56
    assert response.json()["signatures"][0]["error_rate"] == "555.56"
    review = StageReview.objects.get(document=document, meaning="初审")
    assert [(e.category.name, e.weight, e.count) for e in RecordedError.objects.filter(review=review)] == [
        ("错字、漏字、多字", Decimal("1.0"), 2),
        ("标点符号差错", Decimal("0.5"), 1),
    ]
    event = factories.last_event(document)
    assert event.data["errors"] == [
        {"category": "错字、漏字、多字", "weight": "1.0", "count": 2, "note": ""},
        {"category": "标点符号差错", "weight": "0.5", "count": 1, "note": ""},
    ]
    assert event.data["error_rate"] == "555.56"
    # A later change of the standard's weights does not rewrite what was counted.
    ErrorCategory.objects.filter(name="错字、漏字、多字").update(weight=Decimal("2"))
    assert (
        api_client(officer).get(f"/api/v1/documents/{document.pk}/").json()["signatures"][0]["error_rate"] == "555.56"
    )


def test_a_high_error_rate_is_pointed_out_to_the_next_reviewer(client_for, drafter, officer, head):
    document = factories.submitted_document(drafter=drafter, title=TITLE, body=BODY)
    services.approve(
        document=document, user=officer, password=PASSWORD, checklist=factories.answers(document),
        errors=[{"category": category("错字、漏字、多字").pk, "count": 1}],
    )  # fmt: skip

    page = client_for(head).get(document.get_absolute_url())

    assert [review.meaning for review in page.context["high_error_rates"]] == ["初审"]
    assert zh("High error rate") in page.content.decode()
    # The drafter does not review: no notice for them.
    assert zh("High error rate") not in client_for(drafter).get(document.get_absolute_url()).content.decode()


def test_errors_cannot_be_recorded_where_nothing_is_proofread(drafter, officer, head, leader, principal):
    document = factories.approved_document(officer, head, leader, drafter=drafter, is_major=True)
    assert factories.fresh(document).current_stage.name == "审定"

    with pytest.raises(services.Invalid) as refusal:
        services.approve(
            document=document, user=principal, password=PASSWORD, checklist=factories.answers(document),
            errors=[{"category": category("政治性差错").pk, "count": 1}],
        )  # fmt: skip

    assert refusal.value.field == "errors"


def test_the_error_categories_are_listed_in_the_api(officer):
    response = api_client(officer).get("/api/v1/error-categories/")

    assert response.json()[0] == {"id": category("错字、漏字、多字").pk, "name": "错字、漏字、多字", "weight": "1.0"}


def test_the_sheet_shows_both_parts_the_answers_the_error_rate_and_the_text_signed(
    drafter, officer, head, leader, settings
):
    settings.ORGANISATION_NAME = "杉木乡卫生院"
    document = factories.submitted_document(drafter=drafter, title=TITLE, body=BODY)
    services.approve(
        document=document, user=officer, password=PASSWORD, checklist=factories.answers(document),
        errors=[{"category": category("错字、漏字、多字").pk, "count": 1}],
    )  # fmt: skip
    factories.approve_by(document, head, leader)

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(signoff_sheet_pdf(document))).pages)

    assert "杉木乡卫生院" in text
    for meaning in ("初审", "初校", "复审", "复校", "终审", "终校"):
        assert meaning in text
    assert "222.22" in text  # 1 × 1 / 45 × 10,000
    assert "保密关：不涉及国家秘密、工作秘密和个人隐私" in text
    assert "接种时间为每周二上午，地点在卫生院二楼。" in text


def test_error_rate_arithmetic():
    assert error_rate(Decimal("2.5"), 40) == Decimal("625.00")
    assert error_rate(Decimal("1"), 30_000) == Decimal("0.33")
    assert error_rate(Decimal("1"), 0) == Decimal("0.00")
    assert error_rate(Decimal("0.5"), 3) == Decimal("1666.67")
    assert plain_text("<p>一&amp;二</p><p>三<br>四</p>") == "一&二\n三\n四"
    assert character_count("标 题", "<p>一 二</p>\n<p>三</p>") == 5
