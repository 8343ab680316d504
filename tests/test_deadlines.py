"""Stage time limits in working hours, urgent pieces' shorter limits, the queue's order, and the reminders and
escalations a periodic job sends once each (with time frozen, across a weekend)."""

import datetime
import io
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from review import deadlines, services
from review.models import Document, Notification
from tests import factories
from tests.factories import PASSWORD, fresh, zh

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=SHANGHAI)


@pytest.fixture
def clock(monkeypatch, settings):
    """Frozen time, moved by hand: clock.set(when)."""
    settings.WORKING_DAYS, settings.WORKING_HOURS, settings.HOLIDAYS = [0, 1, 2, 3, 4], (9, 17), []

    class Clock:
        now = at(2026, 11, 27, 15, 0)  # a Friday afternoon

        def set(self, when):
            self.now = when

    frozen = Clock()
    monkeypatch.setattr(timezone, "now", lambda: frozen.now)
    return frozen


@pytest.mark.parametrize(
    ("start", "hours", "end"),
    [
        (at(2026, 11, 23, 10, 0), 3, at(2026, 11, 23, 13, 0)),  # within a Monday
        (at(2026, 11, 27, 15, 0), 8, at(2026, 11, 30, 15, 0)),  # Friday 15:00 + 8 h: over the weekend to Monday
        (at(2026, 11, 28, 11, 0), 2, at(2026, 11, 30, 11, 0)),  # started on a Saturday: counts from Monday 9:00
        (at(2026, 11, 23, 7, 30), 2, at(2026, 11, 23, 11, 0)),  # before opening time
        (at(2026, 11, 23, 18, 0), 1, at(2026, 11, 24, 10, 0)),  # after closing time
        (at(2026, 11, 27, 17, 0), 8, at(2026, 11, 30, 17, 0)),  # exactly at closing: a whole Monday
    ],
)
def test_working_hours_skip_nights_and_weekends(clock, start, hours, end):
    assert deadlines.add_working_hours(start, hours) == end


def test_holidays_are_not_working_days(clock, settings):
    settings.HOLIDAYS = [datetime.date(2026, 10, 1), datetime.date(2026, 10, 2)]

    assert deadlines.add_working_hours(at(2026, 9, 30, 16, 0), 2) == at(2026, 10, 5, 10, 0)


def test_the_clock_starts_when_a_piece_reaches_each_stage(clock, drafter, officer, head):
    document = factories.submitted_document(drafter=drafter)
    first = factories.current_review(document)
    assert (first.started_at, first.due_at) == (clock.now, at(2026, 11, 30, 15, 0))  # 8 working hours
    assert fresh(document).stage_due_at == first.due_at

    clock.set(at(2026, 11, 30, 10, 0))
    factories.approve_by(document, officer)

    second = factories.current_review(document)
    assert (second.started_at, second.due_at) == (clock.now, at(2026, 12, 1, 10, 0))
    assert fresh(document).stage_due_at == second.due_at

    services.return_for_changes(document=document, user=head, reason="请补充。")
    assert fresh(document).stage_due_at is None


def test_an_urgent_piece_runs_on_clock_hours(clock, drafter):
    document = factories.submitted_document(drafter=drafter, is_urgent=True)

    assert factories.current_review(document).due_at == clock.now + datetime.timedelta(hours=4)


def test_the_queue_puts_what_is_due_first_and_says_so(clock, drafter, officer, client_for):
    later = factories.submitted_document(drafter=drafter, title="不急的稿件")
    clock.set(at(2026, 11, 27, 16, 0))
    urgent = factories.submitted_document(drafter=drafter, title="紧急声明", is_urgent=True)
    clock.set(at(2026, 11, 27, 19, 30))  # the urgent one is due at 20:00

    page = client_for(officer).get(reverse("review:queue"))

    assert [document.title for document in page.context["page"]] == ["紧急声明", "不急的稿件"]
    assert zh("Stage due soon") in page.content.decode()
    clock.set(at(2026, 11, 27, 20, 30))
    page = client_for(officer).get(reverse("review:queue"))
    assert zh("Stage overdue since") in page.content.decode()
    assert fresh(urgent).is_overdue and not fresh(later).is_overdue


def test_reviewers_are_reminded_then_the_stage_escalated_each_once(
    clock, drafter, officer, head, django_capture_on_commit_callbacks
):
    document = factories.submitted_document(drafter=drafter)  # Friday 15:00, due Monday 15:00
    before = AuditEvent.objects.count()

    def run(when):
        clock.set(when)
        with django_capture_on_commit_callbacks(execute=True):
            return deadlines.send_reminders()

    assert run(at(2026, 11, 28, 12, 0)) == (0, 0)  # Saturday: nothing is due soon
    assert run(at(2026, 11, 30, 13, 30)) == (1, 0)  # Monday, 90 minutes before
    assert run(at(2026, 11, 30, 14, 0)) == (0, 0)  # reminded once
    assert run(at(2026, 11, 30, 15, 1)) == (0, 1)  # past due: escalated
    assert run(at(2026, 11, 30, 16, 0)) == (0, 0)

    events = AuditEvent.objects.filter(sequence__gt=before).order_by("sequence")
    assert [(e.action, e.actor, e.data["stage"]) for e in events] == [
        ("reminded", None, "初审"), ("escalated", None, "初审")
    ]  # fmt: skip
    assert events[1].data["escalated_to"] == "department_head"
    told = sorted((n.recipient.username, n.event) for n in Notification.objects.select_related("recipient"))
    assert told == [("head", "escalated"), ("officer", "due_soon"), ("officer", "overdue")]
    assert fresh(document).state == Document.State.IN_REVIEW  # a deadline decides nothing


def test_a_decided_stage_is_not_chased(clock, drafter, officer):
    document = factories.submitted_document(drafter=drafter)
    clock.set(at(2026, 11, 30, 10, 0))
    services.approve(document=document, user=officer, password=PASSWORD, checklist=factories.answers(document))

    clock.set(at(2026, 11, 30, 15, 1))  # past the first stage's deadline; the second is due Tuesday
    assert deadlines.send_reminders() == (0, 0)


def test_the_command_runs_the_same_job(clock, drafter):
    factories.submitted_document(drafter=drafter)
    clock.set(at(2026, 12, 1, 9, 0))
    out = io.StringIO()

    call_command("send_reminders", stdout=out)

    assert out.getvalue().strip() == "Reminded 0, escalated 1."


def test_an_escalation_lets_the_role_it_names_see_the_piece(clock, drafter, officer, head, leader, client_for):
    document = factories.submitted_document(drafter=drafter)
    clock.set(at(2026, 11, 30, 10, 0))
    factories.approve_by(document, officer)  # at 复审 from Monday 10:00: due Tuesday 10:00, escalates to the leader
    assert client_for(leader).get(document.get_absolute_url()).status_code == 404

    clock.set(at(2026, 12, 1, 10, 1))
    assert deadlines.send_reminders() == (0, 1)

    assert client_for(leader).get(document.get_absolute_url()).status_code == 200


def test_working_hours_that_cannot_end_are_refused(clock, settings):
    settings.WORKING_HOURS = (17, 9)

    with pytest.raises(ImproperlyConfigured):
        deadlines.add_working_hours(at(2026, 11, 23, 10, 0), 1)
