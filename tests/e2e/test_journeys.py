"""The clinic's journeys in a real browser: draft to published, returned and resubmitted, refused, on a phone.

Selectors use URLs, names and values rather than labels, so the tests hold whichever language the
translations are in; where text is checked it is data (titles, printed names, stage names) or English
after switching to it.
"""

import json
import os
import re

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from review.models import Document, Notification, Publication

from ..test_word_upload import docx_file
from .conftest import PASSWORD, PHONE_USER_AGENT

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Seeded by seed_demo: submitted by 张晓雯, waiting for 李信 (officer) at 初审.
WAITING_AT_FIRST_REVIEW = "家庭医生签约服务宣传"
DETAIL_URL = re.compile(r"/documents/(\d+)/$")


def screenshot(page: Page, name: str):
    """With E2E_SCREENSHOTS=1, keep a picture of the page in /tmp/e2e-<name>.png to look at."""
    if os.environ.get("E2E_SCREENSHOTS"):
        page.screenshot(path=f"/tmp/e2e-{name}.png", full_page=True)


def open_menu(page: Page):
    """On a phone the navigation folds behind the menu button: open it (elsewhere there is none to press)."""
    menu = page.locator("header details.menu")
    if menu.is_visible() and menu.get_attribute("open") is None:
        menu.locator("summary").click()


def open_queue(page: Page):
    open_menu(page)
    page.click("header nav a[href='/queue/']")
    expect(page).to_have_url(re.compile(r"/queue/$"))


def open_pieces(page: Page):
    open_menu(page)
    page.click("header nav a[href='/documents/']")
    expect(page).to_have_url(re.compile(r"/documents/$"))


def open_piece(page: Page, title: str):
    page.get_by_role("link", name=title, exact=True).first.click()  # the queue may list it again, as decided
    expect(page).to_have_url(DETAIL_URL)
    expect(page.locator("h1")).to_have_text(title)


def decide(page: Page, decision: str, opinion: str):
    """Write the opinion (or reason) and press Approve (answering "yes" to every question of the stage's checklist
    and signing with the password), Return for changes or Reject."""
    page.fill("#id_opinion", opinion)
    if decision == "approve":
        answers = page.locator("form.decision input[type=radio][name^='item_'][value=yes]")
        expect(answers.first).to_be_visible()  # the checklist is on the form
        for answer in answers.all():
            answer.check()
        page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click(f"form.decision button[value={decision}]")


def approve_from_queue(page: Page, title: str, opinion: str):
    open_queue(page)
    open_piece(page, title)
    decide(page, "approve", opinion)
    expect(page.locator(".message.success")).to_be_visible()


def has_horizontal_overflow(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth")


def test_it_takes_a_piece_from_draft_to_published(page_for):
    title = "儿童营养咨询义诊通知"
    link = "https://example.org/news/child-nutrition"

    drafter = page_for("drafter")
    open_pieces(drafter)
    drafter.click("a[href='/documents/new/']")
    drafter.fill("#id_title", title)
    drafter.select_option("#id_department", label="公共卫生科")
    drafter.check("input[name=channels][value=website]")
    drafter.check("input[name=channels][value=wechat]")
    drafter.click("trix-editor")
    drafter.keyboard.type("本周六上午，卫生院在门诊大厅为0至6岁儿童提供免费营养咨询。")
    screenshot(drafter, "new-piece")
    with drafter.expect_navigation():
        drafter.click("form.form button[name=save]")
    expect(drafter).to_have_url(DETAIL_URL)
    expect(drafter.locator(".state")).to_have_class(re.compile(r"\bstate-draft\b"))
    expect(drafter.locator("section.body")).to_contain_text("免费营养咨询")

    drafter.click("form[action$='/submit/'] button")
    expect(drafter.locator(".state-in_review")).to_contain_text("初审")
    document = Document.objects.get(title=title)
    assert document.channels == ["website", "wechat"]

    approve_from_queue(page_for("officer"), title, "内容准确，同意。")
    approve_from_queue(page_for("head"), title, "同意发布。")
    leader = page_for("leader")
    approve_from_queue(leader, title, "同意。")
    leader.goto(document.get_absolute_url())
    expect(leader.locator(".state")).to_have_class(re.compile(r"\bstate-approved\b"))

    publisher = page_for("publisher")
    open_pieces(publisher)
    open_piece(publisher, title)
    publisher.select_option("#id_channel", "wechat")
    publisher.fill("#id_url", link)
    # It went out just now: a publication time falls between the piece's writing and now (local time, as shown).
    published_at = timezone.localtime()
    publisher.fill("#id_published_at", f"{published_at:%Y-%m-%dT%H:%M}")
    with publisher.expect_navigation():
        publisher.click("form[action$='/publish/'] button")

    expect(publisher.locator(".message.success")).to_be_visible()
    expect(publisher.locator("h1")).to_have_text(title)
    expect(publisher.locator(".state")).to_have_class(re.compile(r"\bstate-published\b"))
    record = publisher.locator("section.card", has=publisher.locator(f"a[href='{link}']"))
    expect(record).to_contain_text("赵敏")
    expect(record).to_contain_text(f"{published_at:%Y-%m-%d %H:%M}")
    signoffs = publisher.locator("ol.timeline > li.decision-approved")
    expect(signoffs).to_have_count(3)
    for stage, name in [("初审", "李信"), ("复审", "王建国"), ("终审", "陈志强")]:
        expect(signoffs.filter(has_text=stage)).to_contain_text(name)
    screenshot(publisher, "published")

    document.refresh_from_db()
    assert document.state == Document.State.PUBLISHED
    publication = Publication.objects.get(document=document)
    assert (publication.channel, publication.url) == ("wechat", link)


def test_it_returns_and_resubmits(page_for):
    reason = "请补充签约服务的办理地点和咨询电话。"

    officer = page_for("officer")
    open_queue(officer)
    open_piece(officer, WAITING_AT_FIRST_REVIEW)
    decide(officer, "return", reason)
    expect(officer.locator(".message.success")).to_be_visible()

    drafter = page_for("drafter")
    open_pieces(drafter)
    open_piece(drafter, WAITING_AT_FIRST_REVIEW)
    expect(drafter.locator(".state")).to_have_class(re.compile(r"\bstate-returned\b"))
    notice = drafter.locator("section.notice")
    expect(notice).to_contain_text(reason)
    expect(notice).to_contain_text("李信")
    screenshot(drafter, "returned")

    drafter.click("a[href$='/edit/']")
    expect(drafter).to_have_url(re.compile(r"/edit/$"))
    drafter.click("trix-editor")
    drafter.keyboard.press("Control+End")
    drafter.keyboard.type("办理地点：卫生院一楼家庭医生工作室；咨询电话：0000-1234567。")
    screenshot(drafter, "edit-returned")
    with drafter.expect_navigation() as navigation:
        drafter.click("form.form button[name=submit]")  # Save and submit for review, without saying what changed
    assert navigation.value.status == 400
    expect(drafter.locator("#id_note")).to_be_visible()
    drafter.fill("#id_note", "补充了办理地点和咨询电话。")
    with drafter.expect_navigation():
        drafter.click("form.form button[name=submit]")
    expect(drafter).to_have_url(DETAIL_URL)
    expect(drafter.locator("section.body")).to_contain_text("咨询电话：0000-1234567")
    expect(drafter.locator(".state-in_review")).to_contain_text("初审")
    expect(drafter.locator("section.notice[role=alert]")).to_have_count(0)
    document = Document.objects.get(title=WAITING_AT_FIRST_REVIEW)
    assert (document.state, document.current_stage.name, document.round) == (Document.State.IN_REVIEW, "初审", 2)

    officer.reload()
    open_queue(officer)
    open_piece(officer, WAITING_AT_FIRST_REVIEW)
    # The reviewer who returned it reads what the drafter says changed, and sees the change itself.
    expect(officer.locator("#submission-note")).to_contain_text("补充了办理地点和咨询电话。")
    expect(officer.locator("#changes ins")).to_contain_text("咨询电话：0000-1234567")


def test_a_reviewer_reads_the_findings_corrects_the_text_and_signs_with_the_errors_found(page_for):
    officer = page_for("officer")
    open_queue(officer)
    open_piece(officer, WAITING_AT_FIRST_REVIEW)
    findings = officer.locator("#findings ul.findings > li")
    expect(findings.first).to_be_visible()
    expect(officer.locator("#findings")).to_contain_text("再接再厉")  # the suggestion for 再接再励
    expect(officer.locator("#findings mark").first).to_be_visible()  # highlighted where it is in the text

    # 根治 stays flagged but is dismissed with a reason (the reviewer judges it; the check decides nothing).
    sensitive = findings.filter(has_text="根治")
    sensitive.locator("input[name=reason]").fill("引用患者原话，已核实。")
    with officer.expect_navigation():
        sensitive.locator("button").click()
    expect(officer.locator("#findings li.dismissed")).to_contain_text("引用患者原话，已核实。")

    with officer.expect_navigation():
        officer.click("a[href$='/correct/']")
    editor = officer.locator("trix-editor")
    editor.click()
    officer.keyboard.press("Control+a")
    officer.keyboard.type("家庭医生签约服务全面开展，签约居民可享受健康咨询、慢病随访等服务，欢迎咨询。")
    # Let the editor finish with the typing (it writes the text to its hidden input) before focus moves on:
    # under load it may otherwise still hold the focus when the note is filled in.
    expect(officer.locator("#id_body")).to_have_value(re.compile("欢迎咨询。</div>$"))
    officer.fill("#id_note", "删去重复的逗号和多余的句子。")
    expect(officer.locator("#id_note")).to_have_value("删去重复的逗号和多余的句子。")
    with officer.expect_navigation():
        officer.click("form.form button[type=submit]")
    expect(officer).to_have_url(DETAIL_URL)
    expect(officer.locator("#changes del").first).to_be_visible()
    expect(officer.locator("#changes ol.revisions li").last).to_contain_text("李信")
    expect(officer.locator("#changes ol.revisions li").last).to_contain_text("删去重复的逗号和多余的句子。")
    screenshot(officer, "corrected")

    officer.fill("form.decision input[name^='errors_'] >> nth=3", "1")  # a punctuation error (标点符号差错)
    decide(officer, "approve", "已校对，同意。")
    expect(officer.locator(".message.success")).to_be_visible()

    document = Document.objects.get(title=WAITING_AT_FIRST_REVIEW)
    signed = document.stage_reviews.get(meaning="初审")
    assert (signed.decision, signed.revision.number, signed.revision.author.username) == ("approved", 2, "officer")
    assert [(error.category.name, error.count) for error in signed.errors.all()] == [("标点符号差错", 1)]
    assert document.current_stage.name == "复审"


def test_it_refuses_return_without_reason_and_keeps_nothing_lost(page_for):
    officer = page_for("officer")
    open_queue(officer)
    open_piece(officer, WAITING_AT_FIRST_REVIEW)
    with officer.expect_navigation() as navigation:
        officer.click("form.decision button[value=return]")
    assert navigation.value.status == 400

    expect(officer.locator("form.decision .errors[role=alert]")).to_be_visible()
    expect(officer.locator(".message.success")).to_have_count(0)
    expect(officer.locator("h1")).to_have_text(WAITING_AT_FIRST_REVIEW)
    expect(officer.locator(".state-in_review")).to_contain_text("初审")
    document = Document.objects.get(title=WAITING_AT_FIRST_REVIEW)
    assert (document.state, document.current_stage.name, document.round) == (Document.State.IN_REVIEW, "初审", 1)
    screenshot(officer, "return-without-reason")

    # The form is still there to try again, and the piece still waits in the queue.
    decide(officer, "return", "请补充服务对象范围。")
    expect(officer.locator(".message.success")).to_be_visible()
    document.refresh_from_db()
    assert document.state == Document.State.RETURNED


def test_it_works_on_a_phone_viewport(page_for):
    phone = page_for(
        "officer",
        viewport={"width": 390, "height": 844},
        user_agent=PHONE_USER_AGENT,
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
    )
    open_queue(phone)
    expect(phone.get_by_role("link", name=WAITING_AT_FIRST_REVIEW, exact=True)).to_be_visible()
    screenshot(phone, "phone-queue")
    assert not has_horizontal_overflow(phone), "the queue is wider than the phone's screen"

    open_piece(phone, WAITING_AT_FIRST_REVIEW)
    screenshot(phone, "phone-detail")
    assert not has_horizontal_overflow(phone), "the piece is wider than the phone's screen"

    decide(phone, "approve", "同意。")
    expect(phone.locator(".message.success")).to_be_visible()
    screenshot(phone, "phone-after-approve")
    assert not has_horizontal_overflow(phone), "the page after approving is wider than the phone's screen"
    document = Document.objects.get(title=WAITING_AT_FIRST_REVIEW)
    assert document.current_stage.name == "复审"


def test_it_switches_to_english(page_for):
    page = page_for("officer")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("header nav")).not_to_contain_text("My queue")
    with page.expect_navigation():
        page.click("footer form.language button[value=en]")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("header nav")).to_contain_text("My queue")
    expect(page.locator("header nav")).to_contain_text("Pieces")
    screenshot(page, "english")

    # The choice sticks: the next page is English too.
    open_pieces(page)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Pieces")


def test_a_notification_leads_a_reviewer_on_a_phone_through_login_to_the_form(new_page, demo):
    notification = Notification.objects.filter(recipient__username="officer", event="awaiting").first()
    phone = new_page(viewport={"width": 390, "height": 844}, user_agent=PHONE_USER_AGENT, device_scale_factor=3)

    phone.goto(notification.get_absolute_url())  # the link in the email or the group chat
    expect(phone).to_have_url(re.compile(r"/accounts/login/"))
    phone.fill("#id_username", "officer")
    phone.fill("#id_password", PASSWORD)
    with phone.expect_navigation():
        phone.click("form button[type=submit]")

    expect(phone).to_have_url(re.compile(rf"/documents/{notification.document_id}/"))
    expect(phone.locator("form.decision #id_password")).to_be_visible()  # the signature still needs the password
    expect(phone.locator("#unread-count")).to_be_visible()
    assert not has_horizontal_overflow(phone)
    screenshot(phone, "notification-to-form")


# What Word puts on the clipboard for a paragraph, a table and a paragraph: its styles, classes and spans included.
WORD_CLIPBOARD = """<html xmlns:o="urn:schemas-microsoft-com:office:office"><head><meta charset="utf-8">
<style>p.MsoNormal { margin: 0cm; font-family: 宋体; }</style></head><body lang="ZH-CN">
<!--StartFragment--><p class="MsoNormal">义诊安排如下：</p>
<table class="MsoTableGrid" border="1" cellspacing="0" style="border-collapse:collapse;border:none">
 <tr><td width="120" style="border:solid windowtext 1.0pt"><p class="MsoNormal"><b>项目</b></p></td>
  <td width="200" style="border:solid windowtext 1.0pt"><p class="MsoNormal">时间</p></td></tr>
 <tr><td style="border:solid windowtext 1.0pt" onclick="alert(1)"><p class="MsoNormal">儿童体检</p></td>
  <td><p class="MsoNormal">上午<span lang="EN-US">8:00</span></p>
  <p class="MsoNormal">至<span lang="EN-US">11:30</span></p></td></tr>
</table>
<p class="MsoNormal">欢迎参加。</p><!--EndFragment--></body></html>"""
PASTED_TABLE = (
    "<table><tbody><tr><td>项目</td><td>时间</td></tr>"
    "<tr><td>儿童体检</td><td>上午8:00<br>至11:30</td></tr></tbody></table>"
)


def paste_html(page: Page, html: str):
    """Paste `html` into the editor as the browser does when the clipboard holds HTML (as Word puts it there)."""
    page.evaluate(
        """(html) => {
            const data = new DataTransfer();
            data.setData("text/html", html);
            data.setData("text/plain", "");
            const paste = new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true});
            document.querySelector("trix-editor").dispatchEvent(paste);
        }""",
        html,
    )


def test_a_table_pasted_from_word_is_kept_through_the_editor_and_its_cells_can_be_changed(page_for):
    title = "儿童义诊安排"
    drafter = page_for("drafter")
    drafter.goto("/documents/new/")
    # The editor's toolbar speaks the reader's language.
    expect(drafter.locator("trix-toolbar button[data-trix-attribute=bold]")).to_have_attribute("title", "粗体")
    drafter.fill("#id_title", title)
    drafter.select_option("#id_department", label="公共卫生科")
    drafter.check("input[name=channels][value=website]")
    drafter.click("trix-editor")
    drafter.keyboard.type("卫生院将举办儿童义诊。")
    expect(drafter.locator("#id_body")).to_have_value(re.compile("儿童义诊。</div>$"))  # the editor has the typing
    paste_html(drafter, WORD_CLIPBOARD)
    expect(drafter.locator("trix-editor figure table td")).to_have_count(4)  # a block in the editor, not lines
    with drafter.expect_navigation():
        drafter.click("form.form button[name=save]")
    expect(drafter).to_have_url(DETAIL_URL)
    expect(drafter.locator("section.body table td")).to_have_count(4)
    document = Document.objects.get(title=title)
    # The table as rows and cells of text (Word's styles, classes and handlers gone), between the pasted lines.
    assert document.body == f"<div>卫生院将举办儿童义诊。义诊安排如下：</div>{PASTED_TABLE}<div>欢迎参加。</div>"
    stored = document.body

    # Saved again without a change, the text is stored exactly as it was: the table went through the editor whole.
    drafter.click("a[href$='/edit/']")
    expect(drafter.locator("trix-editor figure table td")).to_have_count(4)
    with drafter.expect_navigation():
        drafter.click("form.form button[name=save]")
    document.refresh_from_db()
    assert document.body == stored

    # A cell changed through "Edit table"; the rest of the table and the text around it stay.
    drafter.click("a[href$='/edit/']")
    drafter.click("trix-editor figure")
    drafter.click("trix-editor figure .table-edit")
    expect(drafter.locator("trix-editor figure .trix-button--remove")).to_have_text("删除")
    dialog = drafter.locator("dialog#table-editor")
    expect(dialog).to_be_visible()
    dialog.locator("td", has_text="时间").click()
    drafter.keyboard.press("Control+a")
    drafter.keyboard.type("日期与时间")
    dialog.locator("button[value=apply]").click()
    expect(dialog).to_be_hidden()
    expect(drafter.locator("trix-editor figure table")).to_contain_text("日期与时间")
    screenshot(drafter, "table-edited")
    with drafter.expect_navigation():
        drafter.click("form.form button[name=save]")
    document.refresh_from_db()
    assert document.body == stored.replace("<td>时间</td>", "<td>日期与时间</td>")


# Word's clipboard for a second-level heading, a numbered list with a bulleted sub-list, a line and a bullet list:
# Word writes list items as paragraphs with their numbers in spans it styles "mso-list:Ignore".
WORD_HEADING_AND_LISTS = """<html xmlns:o="urn:schemas-microsoft-com:office:office"><body><!--StartFragment-->
<h2 style="margin:0"><span lang="EN-US">一、</span>活动安排</h2>
<p class="MsoListParagraphCxSpFirst" style="margin-left:18pt;mso-list:l0 level1 lfo1"><![if !supportLists]><span
lang="EN-US" style="mso-list:Ignore">1.<span style="font:7pt">&nbsp;&nbsp; </span></span><![endif]>报名</p>
<p class="MsoListParagraphCxSpMiddle" style="margin-left:36pt;mso-list:l0 level2 lfo1"><![if !supportLists]><span
style="font-family:Wingdings;mso-list:Ignore">§<span>&nbsp;</span></span><![endif]>携带身份证</p>
<p class="MsoListParagraphCxSpLast" style="margin-left:18pt;mso-list:l0 level1 lfo1"><![if !supportLists]><span
lang="EN-US" style="mso-list:Ignore">2.<span>&nbsp;</span></span><![endif]>体检</p>
<p class="MsoNormal">其他事项另行通知。</p>
<p class="MsoListParagraph" style="mso-list:l1 level1 lfo2"><span
style="mso-list:Ignore">·<span>&nbsp;</span></span>免费</p>
<!--EndFragment--></body></html>"""


def test_headings_and_lists_pasted_from_word_are_kept(page_for):
    title = "儿童义诊报名须知"
    drafter = page_for("drafter")
    drafter.goto("/documents/new/")
    drafter.fill("#id_title", title)
    drafter.select_option("#id_department", label="公共卫生科")
    drafter.check("input[name=channels][value=wechat]")
    drafter.click("trix-editor")
    paste_html(drafter, WORD_HEADING_AND_LISTS)
    expect(drafter.locator("trix-editor ol > li > ul > li")).to_have_text("携带身份证")
    with drafter.expect_navigation():
        drafter.click("form.form button[name=save]")
    expect(drafter).to_have_url(DETAIL_URL)
    document = Document.objects.get(title=title)
    assert document.body == (
        "<h2>一、活动安排</h2><ol><li>报名<ul><li>携带身份证</li></ul></li><li>体检</li></ol>"
        "<div>其他事项另行通知。</div><ul><li>免费</li></ul><div><br></div>"  # the editor's empty line, after the paste
    )
    expect(drafter.locator("section.body h2")).to_have_text("一、活动安排")

    # The second-level heading goes through the editor again as it is (the toolbar itself offers the first level).
    drafter.click("a[href$='/edit/']")
    expect(drafter.locator("trix-editor h2")).to_have_text("一、活动安排")
    with drafter.expect_navigation():
        drafter.click("form.form button[name=save]")
    assert Document.objects.get(pk=document.pk).body == document.body


def test_a_piece_uploaded_from_word_goes_through_the_editor_unchanged(page_for):
    title = "秋季流感疫苗接种安排"
    drafter = page_for("drafter")
    drafter.goto("/documents/new/")
    drafter.fill("#id_title", title)
    drafter.select_option("#id_department", label="公共卫生科")
    drafter.check("input[name=channels][value=website]")
    drafter.set_input_files(
        "input[type=file][name=word_file]",
        {"name": "接种安排.docx", "mimeType": "application/octet-stream", "buffer": docx_file()},
    )
    with drafter.expect_navigation():
        drafter.click("form.form button[name=save]")
    expect(drafter.locator("section.body table td")).to_have_count(4)
    uploaded = Document.objects.get(title=title).body

    drafter.click("a[href$='/edit/']")
    expect(drafter.locator("trix-editor figure table td")).to_have_count(4)  # the table is a block, not lines
    with drafter.expect_navigation():
        drafter.click("form.form button[name=save]")
    assert Document.objects.get(title=title).body == uploaded


def test_a_hostile_table_block_pasted_in_runs_nothing_when_edited(page_for):
    """A block claiming to be one of the editor's tables, its markup carrying a script, from a hostile page."""
    content = '<table><tr><td><img src=x onerror="window.pwned=1">单元格</td></tr></table>'
    hostile = (
        '<figure data-trix-content-type="application/vnd.imprimatur.table" data-trix-attachment="'
        + json.dumps({"contentType": "application/vnd.imprimatur.table", "content": content}).replace('"', "&quot;")
        + '"></figure>'
    )
    drafter = page_for("drafter")
    drafter.goto("/documents/new/")
    drafter.click("trix-editor")
    paste_html(drafter, hostile)
    drafter.click("trix-editor figure")
    drafter.click("trix-editor figure .table-edit")
    dialog = drafter.locator("dialog#table-editor")
    expect(dialog.locator("td")).to_have_text("单元格")
    expect(dialog.locator("img")).to_have_count(0)  # a plain copy: text only
    assert drafter.evaluate("window.pwned") is None


def test_reject_asks_first_and_the_drafter_starts_again_from_the_text(page_for):
    officer = page_for("officer")
    open_queue(officer)
    open_piece(officer, WAITING_AT_FIRST_REVIEW)
    officer.fill("#id_opinion", "与本院职责无关，不宜发布。")
    officer.once("dialog", lambda dialog: dialog.dismiss())  # "Rejecting is final… Reject it?" — no
    officer.click("form.decision button[value=reject]")
    assert Document.objects.get(title=WAITING_AT_FIRST_REVIEW).state == Document.State.IN_REVIEW
    officer.once("dialog", lambda dialog: dialog.accept())
    with officer.expect_navigation():
        officer.click("form.decision button[value=reject]")
    assert Document.objects.get(title=WAITING_AT_FIRST_REVIEW).state == Document.State.REJECTED

    drafter = page_for("drafter")
    drafter.goto(Document.objects.get(title=WAITING_AT_FIRST_REVIEW).get_absolute_url())
    expect(drafter.locator("#rejected")).to_contain_text("与本院职责无关，不宜发布。")
    with drafter.expect_navigation():
        drafter.click("#rejected button")
    expect(drafter.locator(".state")).to_have_class(re.compile(r"\bstate-draft\b"))
    assert Document.objects.filter(title=WAITING_AT_FIRST_REVIEW, state=Document.State.DRAFT).count() == 1
