"""What leaders use, in a real browser: the statistics and their download, a post-publication review from opening
to a recorded problem, an issue of the bulletin from its pieces to print, and a delegation set up by a reviewer."""

import datetime
import io
import re

import openpyxl
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Delegation
from review.models import Bulletin, Document, ReadingFinding, ReadingReview

from .test_journeys import DETAIL_URL, decide, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PUBLISHED = "老年人免费体检安排"  # seed_demo: published today on the website


def test_a_leader_reads_the_statistics_and_downloads_them(page_for):
    leader = page_for("leader")
    leader.click("header nav a[href='/statistics/']")
    expect(leader.locator("h1")).to_have_text("统计")
    expect(leader.locator("svg.chart")).to_have_count(3)
    expect(leader.locator("dl.totals")).to_contain_text("提交审核")
    screenshot(leader, "statistics")

    with leader.expect_download() as download:
        leader.click("a[href*='format=xlsx']")
    workbook = openpyxl.load_workbook(io.BytesIO(open(download.value.path(), "rb").read()))
    assert workbook.sheetnames[0] == "汇总" and workbook.worksheets[0].cell(4, 2).value >= 1  # submitted


def test_a_leader_opens_a_review_and_a_reader_records_a_problem(page_for):
    leader = page_for("leader")
    leader.goto("/reading-reviews/")
    today = timezone.localdate()
    leader.fill("#id_since", (today - datetime.timedelta(days=1)).isoformat())
    leader.fill("#id_until", today.isoformat())
    leader.locator("input[name=reviewers]").first.wait_for()
    for reader in leader.locator("input[name=reviewers]").all():
        reader.uncheck()
    leader.get_by_label("陈志强").check()
    with leader.expect_navigation():
        leader.click("form.form button.primary")
    expect(leader).to_have_url(re.compile(r"/reading-reviews/\d+/$"))

    row = leader.locator("ol.reading-list > li", has_text=PUBLISHED)
    row.locator("input[value=problem]").check()
    row.locator("select[name$=category]").select_option(index=1)
    row.locator("select[name$=severity]").select_option("minor")
    row.locator("input[name$=note]").fill("咨询电话少了一位。")
    with leader.expect_navigation():
        row.locator("button").click()
    expect(leader.locator(".message.success")).to_contain_text(PUBLISHED)
    expect(leader.locator("ol.reading-list > li", has_text=PUBLISHED)).to_contain_text("咨询电话少了一位。")
    finding = ReadingFinding.objects.get()
    assert (finding.verdict, finding.severity, finding.reviewer.username) == ("problem", "minor", "leader")

    with leader.expect_navigation():
        leader.click("form[action$='/close/'] button")
    assert ReadingReview.objects.get().closed_at is not None


def test_an_editor_makes_an_issue_the_leader_signs_it_and_it_prints(page_for):
    drafter = page_for("drafter")
    drafter.click("header nav a[href='/bulletins/']")
    drafter.click("a[href='/bulletins/new/']")
    drafter.fill("#id_editor_note", "本期报道近期健康服务。")
    row = drafter.locator("tr", has_text=PUBLISHED)
    row.locator("input[name=pieces]").check()
    row.locator("input[name^=section_]").fill("工作动态")
    with drafter.expect_navigation():
        drafter.click("form.form button.primary")
    expect(drafter).to_have_url(DETAIL_URL)
    issue = Bulletin.objects.get()
    expect(drafter.locator("h1")).to_have_text(issue.document.title)
    with drafter.expect_navigation():
        drafter.click("form[action$='/submit/'] button")

    leader = page_for("leader")
    leader.goto(issue.document.get_absolute_url())
    decide(leader, "approve", "同意印发。")
    expect(leader.locator(".message.success")).to_be_visible()
    assert Document.objects.get(pk=issue.document.pk).state == Document.State.APPROVED

    drafter.goto(issue.document.get_absolute_url())
    with drafter.expect_download() as download:
        drafter.click(f"a[href='/bulletins/{issue.pk}/print.pdf']")
    assert open(download.value.path(), "rb").read(4) == b"%PDF"


def test_a_reviewer_lends_their_role_for_a_week(page_for):
    head = page_for("head")
    head.click("header a[href='/accounts/delegations/']")
    today = timezone.localdate()
    head.select_option("#id_deputy", label="吴芳 (officer2)")
    head.fill("#id_starts_on", today.isoformat())
    head.fill("#id_ends_on", (today + datetime.timedelta(days=3)).isoformat())
    head.fill("#id_reason", "参加培训")
    with head.expect_navigation():
        head.click("form.form button.primary")
    expect(head.locator(".message.success")).to_contain_text("吴芳")
    assert Delegation.objects.filter(deputy__username="officer2", reason="参加培训").exists()
