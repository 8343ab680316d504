"""Stage time limits: when a stage is due, and the reminders and escalations a periodic job sends.

A stage's limit counts working hours (settings.WORKING_DAYS between settings.WORKING_HOURS, local time, except
settings.HOLIDAYS); an urgent piece runs on the stage's urgent limit, in clock hours. The clock of a stage starts
when the piece reaches it. `send_reminders()` (every five minutes in the worker, or `manage.py send_reminders`
from cron) tells the reviewers of a stage due within settings.DEADLINE_REMINDER, and once it is past due tells
them again and escalates: the role the stage names (if any) is told and may now see the piece. Each reminder and
escalation is an audit event, sent once.
"""

import datetime

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audit.models import AuditEvent

from . import notifications, permissions, webhooks
from .models import AuditAction, Document, RouteStage, StageReview
from .models.notifications import Event as Notify


def add_working_hours(start: datetime.datetime, hours: float) -> datetime.datetime:
    """Return when `hours` working hours after `start` end (aware datetimes, counted in local time)."""
    moment = timezone.localtime(start)
    remaining = datetime.timedelta(hours=hours)
    opens, closes = settings.WORKING_HOURS
    if not settings.WORKING_DAYS or not 0 <= opens < closes <= 24:
        raise ImproperlyConfigured("DJANGO_WORKING_DAYS needs a day and DJANGO_WORKING_HOURS an hour before another.")
    while True:
        day = moment.date()
        if day.weekday() in settings.WORKING_DAYS and day not in settings.HOLIDAYS:
            day_start = moment.replace(hour=opens, minute=0, second=0, microsecond=0)
            day_end = moment.replace(hour=closes, minute=0, second=0, microsecond=0)
            begin = max(moment, day_start)
            if begin < day_end:
                available = day_end - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        moment = timezone.make_aware(datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time()))


def due_at(stage: RouteStage, document: Document, start: datetime.datetime) -> datetime.datetime | None:
    """Return when the piece's stage is due if it reached the stage at `start` (None: the stage has no limit)."""
    if document.is_urgent and stage.urgent_time_limit:
        return start + datetime.timedelta(hours=stage.urgent_time_limit)
    if stage.time_limit:
        return add_working_hours(start, stage.time_limit)
    return None


def start_clock(document: Document, review: StageReview, now: datetime.datetime) -> None:
    """The piece reached `review`'s stage: start the stage's clock (the caller saves the piece)."""
    review.started_at, review.due_at = now, due_at(review.stage, document, now)
    StageReview.objects.filter(pk=review.pk).update(started_at=review.started_at, due_at=review.due_at)
    document.stage_due_at = review.due_at


def waiting_reviews():
    """Return the stage reviews pieces wait on now that have a deadline."""
    return StageReview.objects.filter(
        document__state=Document.State.IN_REVIEW,
        document__current_stage=F("stage"),
        round=F("document__round"),
        decision=StageReview.Decision.PENDING,
        due_at__isnull=False,
    )


def send_reminders(now: datetime.datetime | None = None) -> tuple[int, int]:
    """Remind the reviewers of stages due soon and escalate those past due; return how many of each."""
    now = now or timezone.now()
    reminded = escalated = 0
    soon = now + settings.DEADLINE_REMINDER
    due_soon = waiting_reviews().filter(reminded_at__isnull=True, due_at__gt=now, due_at__lte=soon)
    for review in due_soon.select_related("document", "stage"):
        reminded += _once(review, "reminded_at", now, _remind)
    overdue = waiting_reviews().filter(escalated_at__isnull=True, due_at__lte=now)
    for review in overdue.select_related("document", "stage"):
        escalated += _once(review, "escalated_at", now, _escalate)
    return reminded, escalated


def _once(review: StageReview, field: str, now: datetime.datetime, act) -> int:
    """Do `act` for the review unless another run did it first, or the stage was decided meanwhile (the
    conditional update decides)."""
    with transaction.atomic():
        if not waiting_reviews().filter(pk=review.pk, **{f"{field}__isnull": True}).update(**{field: now}):
            return 0
        act(review)
    return 1


def _record(action: str, review: StageReview, **data) -> None:
    document = review.document
    AuditEvent.objects.record(
        action=action, obj=document, scope=str(document.department_id), from_state=document.state,
        to_state=document.state, data={"stage": review.meaning, "round": review.round,
                                       "due_at": review.due_at.isoformat(), **data},
    )  # fmt: skip


def _remind(review: StageReview) -> None:
    _record(AuditAction.REMINDED, review)
    notifications.notify(Notify.DUE_SOON, document=review.document, actor=None, stage=review.stage)


def _escalate(review: StageReview) -> None:
    document, stage = review.document, review.stage
    _record(AuditAction.ESCALATED, review, escalated_to=stage.escalate_to)
    permissions.sync_grants(document)  # whom the stage escalates to now sees the piece
    notifications.notify(Notify.OVERDUE, document=document, actor=None, stage=stage)
    if stage.escalate_to:
        notifications.notify(Notify.ESCALATED, document=document, actor=None, stage=stage)
    webhooks.fire(webhooks.Event.OVERDUE, document=document, actor=None, stage=review.meaning)
    webhooks.fire(webhooks.Event.ESCALATED, document=document, actor=None, stage=review.meaning,
                  escalated_to=stage.escalate_to)  # fmt: skip
