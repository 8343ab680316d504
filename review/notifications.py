"""Notifications: who is told what when a piece moves, in the app, by email and in group chats.

The services call notify() inside their transaction. Once it commits, a background task (the worker; at once in
tests) works out who is told, stores their notifications in the app and queues one delivery per email and per
group robot. A delivery that fails is tried again later with growing delays, up to MAX_ATTEMPTS; every attempt is
a Delivery row, so administrators see what failed and why. A robot that is down never blocks anyone's work.

Who is told:
- a piece reaches a stage: whoever may act there (the stage's role in the department, not the drafter, not
  someone who acted at another stage of the piece);
- it passes a stage: its drafter;
- it is approved: its drafter, everyone who signed it, and the publishers;
- it is returned, rejected or published: its drafter and everyone who signed it;
- it is withdrawn (after submission): everyone who signed it, whoever could act at the stage it waited at, and
  the publishers if it had been approved;
- it is assigned to someone (by the department head): that person;
- its stage is due soon or overdue (review.deadlines): whoever may act there; and when the stage escalates, the
  role it names.
Never the person who acted. Each person chooses which of these reach them in the app and by email
(NotificationSettings); robots are told of the events their administrator chose.
"""

import datetime
import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.tasks import task
from django.template.loader import render_to_string
from django.utils import timezone, translation

from accounts.services import group_name

from . import robots
from .models import Document, RouteStage, StageReview
from .models.notifications import Channel, Delivery, Event, Notification, NotificationSettings, Robot
from .permissions import may_act_at, publisher_groups

logger = logging.getLogger(__name__)
User = get_user_model()

RETRY_DELAYS = (
    datetime.timedelta(minutes=1),
    datetime.timedelta(minutes=5),
    datetime.timedelta(minutes=30),
    datetime.timedelta(hours=2),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# The language robots speak: the clinic's groups read Chinese.
ROBOT_LANGUAGE = "zh-hans"


def notify(
    event: str, *, document: Document, actor, stage: RouteStage | None = None, reason: str = "", to=None
) -> None:
    """Tell the people concerned about `event` once the current transaction commits (and only if it does).
    `actor` is None for what the system does by itself (reminders, escalations); `to` is the assignee of ASSIGNED."""
    args = (
        str(event),
        document.pk,
        actor.pk if actor else None,
        stage.pk if stage else None,
        reason,
        to.pk if to else None,
    )
    # Robust: the action has committed; a queue that cannot take the task is logged, not the user's error.
    transaction.on_commit(lambda: dispatch.enqueue(*args), robust=True)


def recipients(event: str, document: Document, actor, stage: RouteStage | None, to_id: int | None = None) -> list:
    """Return the people told of `event` on the piece (see the module's docstring), the actor left out."""
    signed = StageReview.objects.filter(document=document, decided_by__isnull=False)
    signers = _people_of(signed)
    drafter = Q(pk=document.drafter_id)
    if event in (Event.AWAITING, Event.DUE_SOON, Event.OVERDUE):
        signed_here = signed.filter(stage=stage, round=document.round)  # co-signed already
        who = (
            may_act_at(document, stage) & ~drafter & ~_people_of(signed.exclude(stage=stage)) & ~_people_of(signed_here)
        )
    elif event == Event.PASSED:
        who = drafter
    elif event == Event.APPROVED:
        who = drafter | signers | Q(groups__name__in=publisher_groups(document))
    elif event == Event.ASSIGNED:
        who = Q(pk=to_id)
    elif event == Event.ESCALATED:
        who = Q(groups__name=group_name(stage.escalate_to, document.department_id))
    elif event == Event.WITHDRAWN:
        who = signers | (may_act_at(document, stage) if stage else Q(pk__in=[]))
        this_round = StageReview.objects.filter(document=document, round=document.round)
        if this_round.exists() and not this_round.exclude(decision=StageReview.Decision.APPROVED).exists():
            who |= Q(groups__name__in=publisher_groups(document))  # they were told it may go out
    else:
        who = drafter | signers
    people = User.objects.filter(who, is_active=True).distinct().order_by("pk")
    return list(people.exclude(pk=actor.pk) if actor else people)


def _people_of(signatures) -> Q:
    """Return the condition on people who signed `signatures`: the signers and those deputies signed for."""
    return Q(pk__in=signatures.values("decided_by")) | Q(
        pk__in=signatures.filter(on_behalf_of__isnull=False).values("on_behalf_of")
    )


@task()
def dispatch(
    event: str, document_id: int, actor_id: int | None, stage_id: int | None, reason: str, to_id: int | None = None
) -> None:
    """Store the notifications in the app and queue the emails and robot messages of one event."""
    document = Document.objects.select_related("department").get(pk=document_id)
    actor = User.objects.get(pk=actor_id) if actor_id else None
    stage = RouteStage.objects.filter(pk=stage_id).first()
    what = {
        "event": event, "document": document, "actor_name": actor.printed_name[:150] if actor else "",
        "stage": stage.name if stage else "", "reason": reason,
    }  # fmt: skip
    people = recipients(event, document, actor, stage, to_id)
    chosen = {s.user_id: s for s in NotificationSettings.objects.filter(user__in=people)}
    stored = []
    for person in people:
        choice = chosen.get(person.pk) or NotificationSettings(user=person)
        if choice.wants(event, Channel.APP):
            stored.append(Notification(recipient=person, **what))
        if choice.wants(event, Channel.EMAIL) and person.email:
            send_email.enqueue(person.pk, event, document_id, what["actor_name"], what["stage"], reason, 1)
    Notification.objects.bulk_create(stored)
    robots = Robot.objects.filter(Q(department__isnull=True) | Q(department=document.department_id), is_active=True)
    for robot in robots:
        if event in robot.events:
            send_to_robot.enqueue(robot.pk, event, document_id, what["actor_name"], what["stage"], reason, 1)


def piece_url(document_id: int) -> str:
    return settings.SITE_URL.rstrip("/") + Notification(document_id=document_id).get_absolute_url()


def _notification(event, document_id, actor_name, stage, reason) -> Notification:
    document = Document.objects.get(pk=document_id)
    return Notification(event=event, document=document, actor_name=actor_name, stage=stage, reason=reason)


@task()
def send_email(user_id: int, event, document_id, actor_name, stage, reason, attempt: int) -> None:
    """Email one person about one event, in their language, as plain text and HTML."""
    user = User.objects.get(pk=user_id)
    choice = NotificationSettings.objects.filter(user=user).first() or NotificationSettings(user=user)
    notification = _notification(event, document_id, actor_name, stage, reason)
    with translation.override(choice.language):
        context = {"notification": notification, "url": piece_url(document_id), "user": user}
        message = EmailMultiAlternatives(
            subject=" ".join(f"[Imprimatur] {notification.message}".split()),  # one line, whatever the title holds
            body=render_to_string("review/email/notification.txt", context),
            to=[user.email],
        )
        message.attach_alternative(render_to_string("review/email/notification.html", context), "text/html")
    _attempt(
        lambda: message.send() == 1,
        retry=lambda: send_email.using(run_after=_later(attempt)).enqueue(
            user_id, event, document_id, actor_name, stage, reason, attempt + 1
        ),
        channel=Channel.EMAIL, recipient=user.email, event=event, document_id=document_id, attempt=attempt,
    )  # fmt: skip


@task()
def send_to_robot(robot_id: int, event, document_id, actor_name, stage, reason, attempt: int) -> None:
    """Post one event to a group robot, in Chinese, with a link to the piece."""
    robot = Robot.objects.filter(pk=robot_id, is_active=True).first()
    if robot is None:
        return  # removed or switched off since the event
    notification = _notification(event, document_id, actor_name, stage, reason)
    with translation.override(ROBOT_LANGUAGE):
        # What people typed (a title, a reason) reaches the group as text, never as Markdown links or mentions.
        title = robots.plain(str(notification.message))
        context = {"reason": robots.plain(reason), "department": robots.plain(notification.document.department.name)}
        text = render_to_string("review/email/robot.md", context).strip()
    message = robots.Message(title=title, text=text, url=piece_url(document_id))

    def post() -> bool:
        robots.send(robot.kind, robot.url, robot.secret, message)
        return True

    _attempt(
        post,
        retry=lambda: send_to_robot.using(run_after=_later(attempt)).enqueue(
            robot_id, event, document_id, actor_name, stage, reason, attempt + 1
        ),
        channel=robot.kind, recipient=robot.name, event=event, document_id=document_id, attempt=attempt,
    )  # fmt: skip


def _later(attempt: int) -> datetime.datetime:
    return timezone.now() + RETRY_DELAYS[attempt - 1]


def _attempt(send, *, retry, channel, recipient, event, document_id, attempt) -> None:
    """Make one attempt, record it, and queue the next if it failed (until MAX_ATTEMPTS)."""
    error = ""
    try:
        if not send():
            error = "the service did not accept the message"
    except Exception as exc:  # a delivery's failure is recorded and retried, never raised into the worker
        error = f"{type(exc).__name__}: {exc}"
    if not error:
        status = Delivery.Status.SENT
    elif attempt < MAX_ATTEMPTS:
        status = Delivery.Status.RETRYING
    else:
        status = Delivery.Status.FAILED
    Delivery.objects.create(
        channel=channel, recipient=recipient, event=event, document_id=document_id, attempt=attempt, status=status,
        error=error[:2000],
    )  # fmt: skip
    if status == Delivery.Status.RETRYING:
        logger.warning("Notification by %s to %s failed (attempt %s): %s", channel, recipient, attempt, error)
        retry()
