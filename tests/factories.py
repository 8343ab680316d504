"""Build departments, people and pieces for tests through the services the application uses.

People get their roles through `accounts.services.add_membership`, so their permission groups are
synced exactly as in production; pieces move only through `review.services`.
"""

import itertools

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext

from accounts.models import Department, Membership, User
from accounts.services import add_membership
from audit.models import AuditEvent
from review import services
from review.models import Document, StageReview

Role = Membership.Role

_serial = itertools.count(1)

BODY = "<p>请广大居民相互转告。</p>"
# Everyone's password in tests: approvals are signed by re-entering it.
PASSWORD = "sign-here-2026"


def make_department(*, name: str = "", code: str = "") -> Department:
    """Return a new department with a unique name and code."""
    n = next(_serial)
    return Department.objects.create(name=name or f"科室{n}", code=code or f"dept-{n}")


def make_user(username: str = "", *, display_name: str = "", roles=(), password: str | None = PASSWORD) -> User:
    """Return a new user holding `roles`, a list of (role, department or None) pairs."""
    user = User.objects.create(username=username or f"user{next(_serial)}", display_name=display_name)
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.save()
    for role, department in roles:
        grant(user, role, department)
    return user


def grant(user: User, role: str, department: Department | None = None) -> Membership:
    """Give `user` a role the way an administrator would."""
    membership = add_membership(user=user, role=role, department=department, by=None)
    # The cached permission sets of this instance predate the new groups.
    for cache in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(cache, None)
    return membership


def make_document(
    *,
    drafter: User,
    department: Department | None = None,
    title: str = "",
    body: str = BODY,
    channels=("website", "wechat"),
    kind: str = "news",
    is_major: bool = False,
    is_urgent: bool = False,
    due_date=None,
) -> Document:
    """Return a new draft written by `drafter` (in their first drafting department by default)."""
    if department is None:
        department = drafter.memberships.filter(role=Role.DRAFTER).first().department
    return services.create_document(
        drafter=drafter,
        title=title or f"通知{next(_serial)}",
        body=body,
        department=department,
        channels=list(channels),
        kind=kind,
        is_major=is_major,
        is_urgent=is_urgent,
        due_date=due_date,
    )


RESUBMISSION_NOTE = "已按意见修改。"


def submit(document: Document) -> Document:
    """Submit the piece as its drafter (a returned piece saying what changed, as it must)."""
    returned = Document.objects.filter(pk=document.pk, state=Document.State.RETURNED).exists()
    note = RESUBMISSION_NOTE if returned else ""
    return services.submit_document(document=document, user=document.drafter, note=note)


def answers(document: Document, *, ok: bool = True) -> list[dict]:
    """Return "yes" (or "no", with a note) to every question of the checklist at the piece's current stage."""
    stage = Document.objects.get(pk=document.pk).current_stage
    return [{"item": item.pk, "ok": ok, "note": "" if ok else "需修改"} for item in stage.checklist.all()]


def checklist_form(document: Document) -> dict:
    """Return the web form's fields answering "yes" to every question at the piece's current stage."""
    return {f"item_{answer['item']}": "yes" for answer in answers(document)}


def approve_by(document: Document, *reviewers: User) -> Document:
    """Have each reviewer in turn approve the piece's current stage, answering its checklist."""
    for reviewer in reviewers:
        document = services.approve(
            document=document, user=reviewer, password=PASSWORD, opinion="同意。", checklist=answers(document)
        )
    return document


def submitted_document(*, drafter: User, **fields) -> Document:
    """Return a piece waiting at its first stage."""
    return submit(make_document(drafter=drafter, **fields))


def approved_document(*reviewers: User, drafter: User, **fields) -> Document:
    """Return a piece signed off by `reviewers` in turn (all of its stages, for it to be approved)."""
    return approve_by(submitted_document(drafter=drafter, **fields), *reviewers)


# Reading things back.


def fresh(document: Document) -> Document:
    """Return the piece as stored now."""
    return Document.objects.get(pk=document.pk)


def current_review(document: Document) -> StageReview:
    """Return the stage review the piece is waiting on."""
    document = fresh(document)
    return document.stage_reviews.get(round=document.round, stage=document.current_stage_id, cosignature=False)


def last_event(document: Document | None = None) -> AuditEvent:
    """Return the newest audit event, of one piece or of all."""
    events = AuditEvent.objects.all() if document is None else AuditEvent.objects.about(document)
    return events.order_by("sequence").last()


def payload(event: AuditEvent) -> dict:
    """Return what an audit event says happened, for one exact comparison."""
    return {
        "action": event.action,
        "actor": event.actor,
        "actor_name": event.actor_name,
        "actor_role": event.actor_role,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "comment": event.comment,
        "data": event.data,
    }


def zh(message: str, **params) -> str:
    """Return `message` as a Chinese-interface user (the default language) reads it."""
    with translation.override("zh-hans"):
        text = gettext(message)
    return text % params if params else text


def refused(attempted: str, message: str, **params) -> dict:
    """Return the data of a refusal event: the reason as the person refused read it (the default language, Chinese)
    and in each of the site's languages (values that are words of the site are translated too, e.g. a state)."""
    reasons = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            reasons[code] = gettext(message) % {name: gettext(value) for name, value in params.items()}
    return {"attempted": attempted, "reason": reasons["zh-hans"], "reasons": reasons}


def messages_of(response) -> list[str]:
    """Return the flash messages a followed response showed."""
    return [str(message) for message in response.context["messages"]]


# Background work.


def run_queue(backend) -> list:
    """Run every queued task in turn, and those they queue, as the worker would once each one's time came."""
    done = 0
    while done < len(backend.results):
        result = backend.results[done]
        result.task.call(*result.args, **result.kwargs)
        done += 1
    return backend.results
