import datetime
import io
from collections import Counter

import pytest
from django.core.management import call_command
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import Delegation, Department, Membership, User
from audit.models import AuditEvent
from audit.verify import verify_chain
from review import deadlines, prechecks, proofreading, statistics
from review.management import demo_history
from review.management.commands.seed_demo import PEOPLE, PIECES
from review.models import (
    AuditAction,
    Bulletin,
    Document,
    Notification,
    Publication,
    ReadingReview,
    SensitiveTerm,
    StageReview,
)

PASSWORD = "demo-pass-2026"  # the README promises it
USERNAMES = [username for username, *_ in PEOPLE] + ["admin"]


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded(db, django_capture_on_commit_callbacks):
    # As `make run` does: the command commits, and what waits for the commit (the notifications) goes on.
    with django_capture_on_commit_callbacks(execute=True):
        seed()


def snapshot():
    return {
        "departments": Department.objects.count(),
        "users": User.objects.count(),
        "memberships": Membership.objects.count(),
        "documents": Document.objects.count(),
        "reviews": StageReview.objects.count(),
        "publications": Publication.objects.count(),
        "events": AuditEvent.objects.count(),
    }


def test_it_creates_the_demo_clinic(seeded):
    counts = snapshot()

    assert (counts["departments"], counts["users"], counts["memberships"]) == (2, 11, 10)
    past = demo_history.WEEKS * len(demo_history.TEAMS)
    assert counts["documents"] == len(PIECES) + past + 1  # and an issue of the bulletin
    assert counts["publications"] > past * 3 // 4
    assert set(User.objects.values_list("username", flat=True)) == set(USERNAMES)
    assert User.objects.get(username="admin").is_superuser
    assert User.objects.get(username="drafter").printed_name == "张晓雯"


def test_it_can_run_twice(seeded):
    before = snapshot()

    output = seed()

    assert snapshot() == before
    assert "Pieces already exist" in output
    assert PASSWORD in output


def test_it_lets_every_demo_user_log_in_even_after_a_second_run(seeded, client):
    for username in USERNAMES:
        assert client.login(request=HttpRequest(), username=username, password=PASSWORD), username
    seed()
    assert client.login(request=HttpRequest(), username="officer", password=PASSWORD)
    assert not client.login(request=HttpRequest(), username="officer", password="wrong-pass-2026")


def test_it_makes_pieces_in_several_states(seeded):
    titles = [title for title, *_ in PIECES]
    states = Counter(Document.objects.filter(title__in=titles).values_list("state", flat=True))

    assert states == {
        Document.State.DRAFT: 1,
        Document.State.IN_REVIEW: 6,
        Document.State.APPROVED: 1,
        Document.State.PUBLISHED: 1,
        Document.State.RETURNED: 1,
    }
    stages = Counter(Document.objects.filter(state="in_review").values_list("current_stage__name", flat=True))
    assert stages == {"初审": 3, "复审": 1, "终审": 1, "审定": 1}
    assert Document.objects.get(title="重大公共卫生事件应急演练").is_major
    assert Document.objects.get(title="高血压防治知识讲座预告").is_overdue


def test_it_gives_each_reviewer_a_queue(seeded):
    queues = {
        username: set(Document.objects.awaiting(User.objects.get(username=username)).values_list("title", flat=True))
        for username in ("officer", "head", "leader", "principal", "publisher", "officer2", "head2", "drafter")
    }

    assert queues == {
        "officer": {"家庭医生签约服务宣传", "儿童预防接种门诊时间调整"},
        "head": {"高血压防治知识讲座预告"},
        "leader": {"卫生院开展义诊活动"},
        "principal": {"重大公共卫生事件应急演练"},
        "publisher": set(),
        "officer2": {"医务科便民门诊时间调整"},
        "head2": {"高血压防治知识讲座预告"},  # as the deputy of the public-health head, who is away
        "drafter": set(),
    }


def test_it_leaves_an_intact_audit_chain(seeded):
    assert verify_chain().ok
    assert AuditEvent.objects.filter(action=AuditAction.PUBLISHED, object_repr="老年人免费体检安排").count() == 1


def test_it_shows_every_proofreading_feature_at_once(seeded):
    """Findings to read, a correction with its recorded errors and error rate, a resubmission with its note."""
    waiting = Document.objects.get(title="家庭医生签约服务宣传")
    rules = {finding.rule for finding in prechecks.findings_for(waiting)}
    assert {"misspelling", "sensitive_term", "repeated_punctuation", "repeated_character"} <= rules

    corrected = Document.objects.get(title="高血压防治知识讲座预告")
    correction = corrected.revisions.get(number=2)
    assert (correction.author.username, correction.stage.name) == ("officer", "初审")
    signed = corrected.stage_reviews.get(meaning="初审")
    assert signed.revision == correction
    errors = sorted((e.category.name, e.count) for e in signed.errors.all())
    assert errors == [("标点符号差错", 1), ("错字、漏字、多字", 1)]
    assert proofreading.review_error_rate(signed) > proofreading.threshold()  # flagged to the department head

    resubmitted = Document.objects.get(title="儿童预防接种门诊时间调整")
    assert (resubmitted.round, resubmitted.revisions.count()) == (2, 2)
    assert resubmitted.submission_note == "按初审意见补充了具体时间和需携带的证件。"
    assert SensitiveTerm.objects.filter(category="医疗广告").count() == 3


def test_it_shows_a_claimed_piece_and_a_delegation(seeded):
    claimed = Document.objects.get(title="儿童预防接种门诊时间调整")
    assert claimed.stage_reviews.get(round=claimed.round, stage=claimed.current_stage).claimed_by.username == "officer"
    (delegation,) = Delegation.objects.in_force()
    assert (delegation.delegator.username, delegation.deputy.username) == ("head", "head2")
    seed()
    assert Delegation.objects.count() == 1  # not lent twice


def test_it_has_an_overdue_stage_and_notifications_waiting(seeded):
    overdue = Document.objects.get(title="高血压防治知识讲座预告")
    assert overdue.is_overdue and overdue.stage_due_at < timezone.now()
    assert Notification.objects.filter(recipient__username="officer", event="awaiting").exists()
    assert Notification.objects.filter(recipient__username="drafter", event="returned").exists()
    assert deadlines.send_reminders()[1] >= 1  # what the worker does within five minutes of starting


def test_it_holds_six_months_of_history_for_the_statistics_and_the_leaders(seeded):
    today = timezone.localdate()
    figures = statistics.figures(statistics.Period(today - datetime.timedelta(days=182), today))
    assert figures.total.submitted >= demo_history.WEEKS * 2
    assert figures.total.published > 0 and figures.total.returned > 0 and figures.total.error_rate > 0
    assert [timing.label for timing in figures.stages][:3] == ["初审", "复审", "终审"]
    assert all(timing.average_hours for timing in figures.stages[:3])
    # A past post-publication review, closed, and last quarter's, open and half read.
    closed, open_ = ReadingReview.objects.order_by("since")
    assert closed.closed_at is not None and closed.findings.count() == closed.publications().count() > 0
    assert open_.closed_at is None and 0 < open_.findings.count() < open_.publications().count()
    # An issue of the bulletin, signed off and ready to print.
    issue = Bulletin.objects.get()
    assert issue.document.state == Document.State.APPROVED and issue.items.count() == 3
    # Nobody was told of the past: the notifications are the demo's present ones.
    a_week_ago = timezone.now() - datetime.timedelta(days=7)
    assert not Notification.objects.filter(document__publications__published_at__lt=a_week_ago).exists()
    assert verify_chain().ok
