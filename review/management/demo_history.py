"""Six months of the demo clinic's past, generated: for the statistics, a past post-publication review (阅评) and a
bulletin issue to show something real on first start.

The past is written through the services as it would have happened, with the clock set back for each step, so
that every record (the audit log included) tells one consistent story. Nobody is notified of the past, and its
signatures are given without typing a password again (they are imported, not signed now). The same history
comes out every time (a fixed random seed), relative to today.
"""

import datetime
import random
from contextlib import contextmanager
from unittest import mock

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from review import bulletins, notifications, proofreading, reading, services, webhooks
from review.models import Document, ErrorCategory, Publication, StageReview
from review.statistics import Period

WEEKS = 26
CHANNELS = [["website"], ["wechat", "website"]]
TOPICS = [
    "流感疫苗接种", "高血压患者随访", "儿童健康体检", "家庭医生签约服务", "预防接种门诊", "健康知识讲座", "中医药服务",
    "义诊活动", "慢性病管理", "孕产妇保健", "防溺水安全提示", "控烟宣传", "老年人健康体检", "结核病防治",
]  # fmt: skip
# Each department's drafter, information officer and head (the leader and the publisher serve both).
TEAMS = {"public-health": ("drafter", "officer", "head"), "medical-affairs": ("drafter2", "officer2", "head2")}
BODY = (
    "<div>{title}。<br><br>为进一步提高辖区居民健康水平，卫生院{department}根据上级工作安排，结合本地实际，近期组织开展"
    "相关服务。请有需要的居民携带身份证、医保卡按时前往，服务期间请遵守现场秩序，配合工作人员做好登记。<br><br>"
    "请广大居民相互转告，如有疑问请在工作日上午8:00至下午5:00咨询卫生院{department}。</div>"
)
RETURN_REASON = "请补充时间、地点和咨询电话。"
PROBLEM_NOTE = "标题中的日期与正文不一致。"


@contextmanager
def clock(moment: datetime.datetime):
    """Let everything done inside happen at `moment`."""
    with mock.patch.object(timezone, "now", return_value=moment):
        yield


def working_time(day: datetime.date, hour: float) -> datetime.datetime:
    return datetime.datetime.combine(
        day, datetime.time(9), tzinfo=timezone.get_current_timezone()
    ) + datetime.timedelta(hours=hour)


def sign(document: Document, user: User, decision: str = StageReview.Decision.APPROVED, opinion="同意。", errors=()):
    """Give a past decision at the piece's current stage, its checklist answered yes."""
    stage = Document.objects.get(pk=document.pk).current_stage
    answers = [proofreading.Answer(item.pk, True) for item in stage.checklist.all()]
    with transaction.atomic():
        services._decide(  # noqa: SLF001 - a signature of the past, imported without its password
            document=document, user=user, review_id=None, decision=decision, opinion=opinion,
            answers=answers if decision == StageReview.Decision.APPROVED else [], errors=list(errors),
        )  # fmt: skip


def create(users: dict[str, User], departments) -> int:
    """Write the clinic's past: about two pieces a week over WEEKS weeks; return how many pieces."""
    rng = random.Random(2026)
    today = timezone.localdate()
    categories = list(ErrorCategory.objects.filter(is_active=True))
    count = 0
    with mock.patch.object(notifications, "notify"), mock.patch.object(webhooks, "fire"):
        for week in range(WEEKS, 0, -1):
            for code, (drafter, officer, head) in TEAMS.items():
                monday = today - datetime.timedelta(days=today.weekday() + 7 * week)
                day = monday + datetime.timedelta(days=rng.randrange(4))
                topic = rng.choice(TOPICS)
                piece(
                    rng, categories, day, f"{topic}（{day.month}月{day.day}日）", departments[code],
                    *(users[name] for name in (drafter, officer, head, "leader", "publisher")),
                )  # fmt: skip
                count += 1
        review_quarters(users, rng)
    bulletin_issue(users)
    return count


def piece(rng, categories, day, title, department, drafter, officer, head, leader, publisher) -> None:
    """One piece of the past, from its draft to its publication (or a rejection)."""
    hours = 0.0

    def at(more: float):
        nonlocal hours
        hours += more
        return clock(working_time(day, hours))

    with at(0):
        document = services.create_document(
            drafter=drafter, title=title, department=department, channels=rng.choice(CHANNELS),
            kind=rng.choice(["news", "notice", "health_education"]),
            body=BODY.format(title=title, department=department.name),
        )  # fmt: skip
        Document.objects.filter(pk=document.pk).update(created_at=timezone.now())  # its default took the real clock
    with at(0.5):
        services.submit_document(document=document, user=drafter)
    if rng.random() < 0.15:
        with at(rng.uniform(1, 8)):
            sign(document, officer, StageReview.Decision.RETURNED, RETURN_REASON)
        with at(20):
            where = f"时间：上午8:00至11:30；地点：卫生院{department.name}；咨询电话：0000-1234567。"
            body = f"<div>{title}。<br><br>{where}</div>"
            services.edit_document(document=document, user=drafter, body=body)
            services.submit_document(document=document, user=drafter, note="补充了时间、地点和咨询电话。")
    errors = []
    if rng.random() < 0.12:
        errors = [proofreading.Count(rng.choice(categories), rng.randint(1, 2))]
    with at(rng.uniform(1, 12)):
        sign(document, officer, errors=errors)
    if rng.random() < 0.05:
        with at(rng.uniform(2, 10)):
            sign(document, head, StageReview.Decision.REJECTED, "内容与本科室职责无关，不宜发布。")
        return
    with at(rng.uniform(2, 20)):
        sign(document, head)
    with at(rng.uniform(1, 16)):
        sign(document, leader)
    with at(2):
        services.publish(
            document=document, user=publisher, channel=document.channels[0], published_at=timezone.now(),
            url=f"https://example.org/news/{document.pk}",
        )  # fmt: skip


def review_quarters(users, rng) -> None:
    """The quarter before last was read again and the review closed; last quarter's is open, half read."""
    this_quarter = Period.quarter_of(timezone.localdate())
    last = this_quarter.previous_quarter()
    before = Period.quarter_of(last.since).previous_quarter()
    readers = [users["leader"], users["principal"]]
    problem_category = ErrorCategory.objects.filter(is_active=True).order_by("position").first()
    for quarter, share_read, close in ((before, 1.0, True), (last, 0.5, False)):
        opened = working_time(quarter.until + datetime.timedelta(days=3), 0)
        with clock(opened):
            review = reading.open_review(
                by=users["leader"], since=quarter.since, until=quarter.until, reviewers=readers
            )
        publications = list(review.publications())
        for index, publication in enumerate(publications[: round(len(publications) * share_read)]):
            reader = readers[index % 2]
            problem = rng.random() < 0.12
            with clock(opened + datetime.timedelta(days=1, minutes=index)):
                reading.record_finding(
                    review=review, publication=publication, user=reader,
                    verdict="problem" if problem else "fine", category=problem_category if problem else None,
                    severity="minor" if problem else "", note=PROBLEM_NOTE if problem else "", corrected=problem,
                )  # fmt: skip
        if close:
            with clock(opened + datetime.timedelta(days=20)):
                reading.close_review(review=review, by=users["leader"])


def bulletin_issue(users) -> None:
    """Last month's issue of the bulletin, signed off and ready to print: the three latest public-health pieces."""
    drafter = users["drafter"]
    latest = (
        Publication.objects.filter(document__drafter=drafter)
        .order_by("-published_at")
        .values_list("document", flat=True)
    )
    pieces = list(Document.objects.filter(pk__in=list(dict.fromkeys(latest))[:3]).order_by("pk"))
    if not pieces:
        return
    items = [bulletins.Item(pieces[0], "工作动态"), *(bulletins.Item(p, "健康科普") for p in pieces[1:])]
    issue = bulletins.save_issue(
        user=drafter, title="卫生院工作简报", number=bulletins.next_number(timezone.localdate().year),
        issued_on=timezone.localdate(), editor_note="本期报道近期公共卫生工作和健康科普。", items=items,
    )  # fmt: skip
    services.submit_document(document=issue.document, user=drafter)
    sign(issue.document, users["leader"])
