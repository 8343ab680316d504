"""Automated pre-checks: each rule with texts that must and must not trigger it, found at its place in the text."""

import pytest
from django.urls import reverse

from review import prechecks
from review.models import AuditAction, Dismissal, SensitiveTerm
from review.proofreading import reading_text
from tests import factories
from tests.api import api_client, clean_throttles  # noqa: F401 (an autouse fixture)

pytestmark = pytest.mark.django_db


def rules(body: str, *, title: str = "通知", **kwargs) -> list[tuple[str, str]]:
    """Return (rule, excerpt) of every finding, checking that each one sits where it says in the text."""
    found = prechecks.check(title=title, body=body, **kwargs)
    text = reading_text(title, body)
    for finding in found:
        if finding.end > finding.start and finding.rule not in ("insecure_link",):
            assert text[finding.start : finding.end] == finding.excerpt, finding
    return [(finding.rule, finding.excerpt) for finding in found]


def test_the_organisations_sensitive_and_banned_terms():
    SensitiveTerm.objects.create(term="敏感词", category="政治", severity="high")
    SensitiveTerm.objects.create(term="卫生院办", category="过时名称", replacement="卫生院办公室")

    found = prechecks.check(title="通知", body="<p>此处有敏感词；请联系卫生院办。</p>")

    assert [(f.rule, f.excerpt, f.category, f.severity, f.suggestion) for f in found] == [
        ("sensitive_term", "敏感词", "政治", "high", ""),
        ("banned_term", "卫生院办", "过时名称", "medium", "卫生院办公室"),
    ]
    assert rules("<p>没有问题的句子。</p>") == []


def test_a_term_switched_off_is_no_longer_found():
    term = SensitiveTerm.objects.create(term="敏感词", category="政治")
    assert rules("<p>敏感词</p>") == [("sensitive_term", "敏感词")]

    term.is_active = False
    term.save()

    assert rules("<p>敏感词</p>") == []


def test_common_misspellings_with_their_correction():
    found = prechecks.check(title="通知", body="<p>希望大家再接再励，一如继往。</p>")

    assert [(f.rule, f.excerpt, f.suggestion) for f in found] == [
        ("misspelling", "再接再励", "再接再厉"),
        ("misspelling", "一如继往", "一如既往"),
    ]
    assert rules("<p>希望大家再接再厉，一如既往。</p>") == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("<p>请注意,明天开会.</p>", [("half_width_punctuation", ","), ("half_width_punctuation", ".")]),
        ("<p>体温37.5度以上请就诊。</p>", []),
        ("<p>Hello, world.</p>", []),
        ("<p>请注意，，明天开会。。</p>", [("repeated_punctuation", "，，"), ("repeated_punctuation", "。。")]),
        ("<p>请阅读《通知》和“说明”。</p>", []),
        ("<p>请阅读《通知和“说明”。</p>", [("unpaired_mark", "《")]),
        ("<p>请阅读通知》。</p>", [("unpaired_mark", "》")]),
        ("<p>他说（见附件。</p><p>另起一段）。</p>", [("unpaired_mark", "（"), ("unpaired_mark", "）")]),
    ],
)
def test_punctuation(body, expected):
    assert rules(body) == expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("<p>这是我们的的工作。</p>", [("repeated_character", "的的")]),
        ("<p>大家常常来看看。</p>", []),
        ("<p>我们我们要注意。</p>", [("repeated_word", "我们我们")]),
        ("<p>卫生院 开展义诊。</p>", [("space_in_chinese", " ")]),
        ("<p>Open day at the clinic。</p>", []),
    ],
)
def test_repetitions_and_spaces(body, expected):
    assert rules(body) == expected


def test_numbers_and_dates():
    assert rules("<p>共有１２人参加。</p>") == [("full_width_digits", "１２")]
    found = prechecks.check(title="通知", body="<p>2026年3月1日开始，2026年3月8日结束，2026-03-15复查。</p>")
    assert [(f.rule, f.excerpt) for f in found] == [("inconsistent_date", "2026-03-15")]
    assert "2026年3月1日" in found[0].message
    assert rules("<p>2026年3月1日开始，2026年3月8日结束。</p>") == []


def test_channel_limits(settings):
    settings.CHANNEL_LIMITS = {"wechat": {"title": 10, "summary": 5}}

    found = prechecks.check(
        title="一个超过十个字的很长的标题", body="<p>正文。</p>", summary="摘要有点长了", channels=["wechat"]
    )

    # The summary is not in the text: its finding has no place in it and comes first.
    assert [(f.rule, f.category) for f in found] == [
        ("wechat_summary_length", "length"),
        ("wechat_title_length", "length"),
    ]
    assert prechecks.check(title="短标题", body="<p>正文。</p>", summary="短", channels=["wechat"]) == []
    assert prechecks.check(title="一个超过十个字的很长的标题", body="<p>正文。</p>", channels=["website"]) == []


def test_images_without_alternative_text_and_links_that_are_not_https():
    found = prechecks.check(
        title="通知",
        body='<p><img src="a.png"><img src="b.png" alt="义诊现场"> 详见<a href="http://example.org/x">公告</a>'
        '和<a href="https://example.org/y">说明</a>。</p>',
    )

    assert [(f.rule, f.suggestion) for f in found] == [
        ("image_without_alt", ""),
        ("insecure_link", "https://example.org/x"),
    ]


def test_findings_are_listed_in_the_api_at_their_place(drafter):
    document = factories.make_document(drafter=drafter, title="通知", body="<p>再接再励。</p>")

    response = api_client(drafter).get(f"/api/v1/documents/{document.pk}/findings/")

    assert response.json() == [
        {
            "rule": "misspelling", "category": "spelling", "severity": "medium", "start": 4, "end": 8,
            "excerpt": "再接再励", "message": factories.zh("“%(wrong)s” is a common misspelling of “%(right)s”.",
            wrong="再接再励", right="再接再厉"), "suggestion": "再接再厉", "dismissed": False, "dismissal": "",
        }
    ]  # fmt: skip


def test_a_reviewer_dismisses_a_finding_with_a_reason_which_is_recorded(drafter, officer, client_for):
    document = factories.submitted_document(drafter=drafter, body="<p>我们我们在此说明。</p>")

    response = api_client(officer).post(
        f"/api/v1/documents/{document.pk}/findings/dismiss/",
        {"rule": "repeated_word", "excerpt": "我们我们", "reason": "引用原话"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()[0]["dismissed"] is True and response.json()[0]["dismissal"] == "引用原话"
    assert Dismissal.objects.get(document=document).dismissed_by == officer
    event = factories.last_event(document)
    assert (event.action, event.actor, event.comment, event.data) == (
        AuditAction.FINDING_DISMISSED, officer, "引用原话", {"rule": "repeated_word", "excerpt": "我们我们"}
    )  # fmt: skip
    page = client_for(officer).get(document.get_absolute_url())
    assert page.context["open_findings"] == []


def test_only_the_reviewer_at_the_stage_dismisses_and_only_with_a_reason(drafter, officer):
    document = factories.submitted_document(drafter=drafter, body="<p>我们我们在此说明。</p>")
    url = f"/api/v1/documents/{document.pk}/findings/dismiss/"
    body = {"rule": "repeated_word", "excerpt": "我们我们", "reason": "引用原话"}

    assert api_client(drafter).post(url, body, format="json").status_code == 403
    assert api_client(officer).post(url, {**body, "reason": ""}, format="json").status_code == 400
    assert api_client(officer).post(url, {**body, "excerpt": "不存在"}, format="json").status_code == 400
    assert not Dismissal.objects.exists()


def test_the_piece_page_highlights_each_finding_at_its_place(client_for, drafter):
    document = factories.make_document(drafter=drafter, body="<p>希望大家再接再励。</p>")

    page = client_for(drafter).get(document.get_absolute_url())

    assert '<mark class="severity-medium" title="' in page.content.decode()
    assert [(text, [f.rule for f in covering]) for text, covering in page.context["highlighted"] if covering] == [
        ("再接再励", ["misspelling"])
    ]
    assert (
        reverse("review:document_dismiss", args=[document.pk]) not in page.content.decode()
    )  # the drafter does not dismiss
