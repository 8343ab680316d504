"""What a first day shows, in a real browser (issue 13): an approval says where the piece went, a refusal says why
in the reader's language, a draft needs no channels and starts in the drafter's department, the piece shows its
number, the audit log is found by a piece's title, and a signer's name stays whole in the register."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import User
from review import services
from review.models import Document

from .conftest import PASSWORD, PHONE_USER_AGENT
from .test_journeys import DETAIL_URL, WAITING_AT_FIRST_REVIEW, decide, open_piece, open_queue

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {
    "viewport": {"width": 390, "height": 844}, "user_agent": PHONE_USER_AGENT, "is_mobile": True, "has_touch": True,
}  # fmt: skip


def test_an_approval_names_the_piece_and_who_has_it_next(page_for):
    officer = page_for("officer")
    open_queue(officer)
    open_piece(officer, WAITING_AT_FIRST_REVIEW)

    decide(officer, "approve", "同意。")

    message = officer.locator(".message.success")
    expect(message).to_contain_text(WAITING_AT_FIRST_REVIEW)
    expect(message).to_contain_text("初审")
    expect(message).to_contain_text("王建国")  # the department head, who signs 复审
    expect(message).to_contain_text("复审")


def test_a_draft_on_a_phone_starts_in_the_drafters_department_and_needs_no_channels(page_for):
    drafter = page_for("drafter", **PHONE)
    drafter.goto("/documents/new/")
    department = drafter.locator("#id_department")
    expect(department).not_to_have_value("")  # 张晓雯 drafts for one department only
    drafter.fill("#id_title", "周末义诊通知")
    drafter.locator("trix-editor").fill("本周六上午在卫生院门诊楼前举行义诊。")
    assert not drafter.locator("input[name=channels]:checked").count()

    with drafter.expect_navigation():
        drafter.click("form button[type=submit][name=save]")

    expect(drafter).to_have_url(DETAIL_URL)
    piece = Document.objects.get(title="周末义诊通知")
    assert (piece.state, piece.channels, piece.department.name) == (Document.State.DRAFT, [], "公共卫生科")
    expect(drafter.locator("#piece-number")).to_have_text(str(piece.pk))
    assert drafter.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_a_refusal_says_why_in_the_readers_language(page_for):
    officer = page_for("officer")
    open_queue(officer)
    open_piece(officer, WAITING_AT_FIRST_REVIEW)
    # Meanwhile the stage is decided elsewhere (another tab, the API): the form on this page is stale.
    piece = Document.objects.get(title=WAITING_AT_FIRST_REVIEW)
    answers = [{"item": item.pk, "ok": True} for item in piece.current_stage.checklist.all()]
    officer_user = User.objects.get(username="officer")
    services.approve(document=piece, user=officer_user, password=PASSWORD, opinion="同意。", checklist=answers)

    decide(officer, "approve", "同意。")
    expect(officer.locator(".message.error")).to_contain_text("复审")

    for locale, words in (("zh-CN", "此环节已由他人处理"), ("en-US", "Someone else has already decided this stage")):
        auditor = page_for("auditor", locale=locale)
        auditor.goto("/audit/")
        expect(auditor.locator(".refusal-reason").first).to_contain_text(words)


def test_the_audit_log_is_found_by_a_pieces_title(page_for):
    auditor = page_for("auditor")
    auditor.goto("/audit/")
    auditor.fill("#id_document", WAITING_AT_FIRST_REVIEW)
    with auditor.expect_navigation():
        auditor.locator("#id_document").press("Enter")

    expect(auditor).to_have_url(re.compile(r"document="))
    pieces = auditor.locator("table tbody tr td:nth-child(5)")
    expect(pieces.first).to_have_text(WAITING_AT_FIRST_REVIEW)
    assert set(pieces.all_inner_texts()) == {WAITING_AT_FIRST_REVIEW}


def test_a_signers_name_stays_whole_in_the_register_on_a_phone(page_for):
    publisher = page_for("publisher", **PHONE)
    publisher.goto("/register/")
    signers = publisher.locator("td span.nowrap")
    expect(signers.first).to_be_visible()
    for signer in signers.all():
        box = signer.bounding_box()
        height = signer.evaluate("element => parseFloat(getComputedStyle(element).lineHeight) || 24")
        assert box["height"] <= height * 1.5, f"{signer.inner_text()!r} breaks over two lines"
