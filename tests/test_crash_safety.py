"""An exception anywhere inside an action leaves the database exactly as it was, and its side effects never start.

Each action is one transaction: the transition and save, the stage review, the permissions, the audit event,
the webhook and the notifications (both queued with transaction.on_commit). The named crash points below are the
steps of that transaction; the sweep at the end crashes the action after each of its writes in turn, on real
transactions.
"""

from dataclasses import dataclass
from types import SimpleNamespace
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone

from audit.models import AuditEvent
from review import notifications, permissions, services, webhooks
from review.defaults import create_clinic_workflow
from review.models import ChecklistItem, Document, Stage, Workflow
from tests import factories
from tests.invariants import problems, snapshot


class Crash(Exception):
    """The failure injected into an action."""


def then_crash(original):
    """Return a stand-in for `original` that does its work, then fails."""

    def crash(*args, **kwargs):
        original(*args, **kwargs)
        raise Crash(original.__qualname__)

    return crash


@dataclass(frozen=True)
class Action:
    prepare: callable  # (people) -> the piece, ready for the action
    perform: callable  # (piece, people) -> None
    # Every action ends by deriving the piece's object permissions from its route: permissions.sync_grants.
    webhook: str | None  # the webhook event it fires
    notices: tuple = ()  # the notifications it sends, in order


def in_review(p, *reviewers):
    return factories.approve_by(factories.submitted_document(drafter=p.drafter), *reviewers)


ACTIONS = {
    "submit": Action(
        lambda p: factories.make_document(drafter=p.drafter),
        lambda d, p: services.submit_document(document=d, user=p.drafter),
        webhooks.Event.SUBMITTED,
        ("awaiting",),
    ),
    "approve": Action(
        lambda p: in_review(p),
        lambda d, p: services.approve(
            document=d, user=p.officer, password=factories.PASSWORD, opinion="同意。", checklist=factories.answers(d)
        ),
        webhooks.Event.APPROVED,
        ("passed", "awaiting"),
    ),
    "approve the final stage": Action(
        lambda p: in_review(p, p.officer, p.head),
        lambda d, p: services.approve(
            document=d, user=p.leader, password=factories.PASSWORD, opinion="同意发布。", checklist=factories.answers(d)
        ),
        webhooks.Event.APPROVED,
        ("approved",),
    ),
    "return_for_changes": Action(
        lambda p: in_review(p),
        lambda d, p: services.return_for_changes(document=d, user=p.officer, reason="请补充时间。"),
        webhooks.Event.RETURNED,
        ("returned",),
    ),
    "reject": Action(
        lambda p: in_review(p, p.officer),
        lambda d, p: services.reject(document=d, user=p.head, reason="不宜发布。"),
        webhooks.Event.REJECTED,
        ("rejected",),
    ),
    "publish": Action(
        lambda p: in_review(p, p.officer, p.head, p.leader),
        lambda d, p: services.publish(
            document=d, user=p.publisher, channel="website", url="https://example.org/n/1", published_at=timezone.now()
        ),
        webhooks.Event.PUBLISHED,
        ("published",),
    ),
    "withdraw": Action(
        lambda p: in_review(p, p.officer),
        lambda d, p: services.withdraw(document=d, user=p.drafter, reason="活动取消。"),
        webhooks.Event.WITHDRAWN,
        ("withdrawn",),
    ),
}


def crash_points(action: Action) -> dict:
    """Return the patches that make `action` fail at each step of its transaction, by step name."""
    points = {
        "after the transition is saved": mock.patch.object(
            Document, "save", autospec=True, side_effect=then_crash(Document.save)
        ),
        "after the audit event is written": mock.patch.object(
            AuditEvent.objects, "record", side_effect=then_crash(AuditEvent.objects.record)
        ),
        "after the permissions are derived": mock.patch.object(
            permissions, "sync_grants", side_effect=then_crash(permissions.sync_grants)
        ),
    }
    if action.webhook:
        points["after the webhook is queued"] = mock.patch.object(
            webhooks, "fire", side_effect=then_crash(webhooks.fire)
        )
    return points


CASES = [(name, point) for name, action in ACTIONS.items() for point in crash_points(action)]


@pytest.fixture
def people(drafter, officer, head, leader, publisher):
    if not Workflow.objects.filter(is_active=True).exists():
        create_clinic_workflow(Workflow, Stage, ChecklistItem)  # emptied by an earlier transactional test
    return SimpleNamespace(drafter=drafter, officer=officer, head=head, leader=leader, publisher=publisher)


@pytest.fixture
def deliveries():
    """The webhook deliveries queued after commit (none are sent)."""
    with mock.patch.object(webhooks, "enqueue_deliveries") as enqueue:
        yield enqueue


@pytest.fixture(autouse=True)
def notices():
    """The notifications queued after commit (none are sent)."""
    with mock.patch.object(notifications, "dispatch") as dispatch:
        yield dispatch.enqueue


def events(notices) -> list[str]:
    return [call.args[0] for call in notices.call_args_list]


@pytest.mark.parametrize(("name", "point"), CASES, ids=[f"{name}: {point}" for name, point in CASES])
def test_a_crash_leaves_the_database_as_it_was(
    people, deliveries, notices, django_capture_on_commit_callbacks, name, point
):
    action = ACTIONS[name]
    document = action.prepare(people)
    before = snapshot(everything=True)

    with crash_points(action)[point], django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(Crash):
            action.perform(document, people)

    assert snapshot(everything=True) == before
    assert callbacks == []
    deliveries.assert_not_called()
    assert events(notices) == []
    assert problems(document) == []


@pytest.mark.parametrize("name", ACTIONS)
def test_without_a_crash_the_action_lands_and_its_webhook_follows_the_commit(
    people, deliveries, notices, django_capture_on_commit_callbacks, name
):
    action = ACTIONS[name]
    document = action.prepare(people)
    before = snapshot()

    notices.reset_mock()  # preparing the piece queued its own
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        action.perform(document, people)
        deliveries.assert_not_called()  # not before the commit
        assert events(notices) == []

    after = snapshot()
    assert after["audit"]["count"] == before["audit"]["count"] + 1
    assert after["tables"]["review.Document"] != before["tables"]["review.Document"]
    assert len(callbacks) == 1 + len(action.notices)  # the webhook's, and one per notification
    [(payload,), _kwargs] = deliveries.call_args
    assert (payload["event"], payload["document"]["id"]) == (action.webhook, document.pk)
    assert events(notices) == list(action.notices)
    assert problems(document) == []


class Writes:
    """Count the statements that change the database (the advisory lock too); fail right after the n-th."""

    WRITES = ("INSERT", "UPDATE", "DELETE", "SELECT PG_ADVISORY")

    def __init__(self, crash_after: int | None):
        self.crash_after, self.count = crash_after, 0

    def __call__(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.lstrip().upper().startswith(self.WRITES):
            self.count += 1
            if self.count == self.crash_after:
                raise Crash(sql)
        return result


@pytest.mark.parametrize("name", ACTIONS)
def test_a_crash_after_any_write_leaves_the_database_as_it_was(transactional_db, people, deliveries, notices, name):
    # Real transactions (no test transaction around them): on_commit callbacks run at the real commit.
    action = ACTIONS[name]
    document = action.prepare(people)
    deliveries.reset_mock()  # preparing the piece committed, and queued its own webhooks and notifications
    notices.reset_mock()
    before = snapshot(everything=True)

    crash_after = 1
    while True:
        writes = Writes(crash_after)
        try:
            with connection.execute_wrapper(writes):
                action.perform(document, people)
        except Crash:
            assert snapshot(everything=True) == before, f"crash after write {crash_after} left a change"
            deliveries.assert_not_called()
            assert events(notices) == []
            crash_after += 1
        else:
            break

    # The last run had fewer writes than the crash point: it went through, and nothing before it had.
    assert writes.count == crash_after - 1 >= 3  # at least: the piece, the audit event and one more
    assert snapshot()["audit"]["count"] == before["audit"]["count"] + 1
    assert deliveries.call_count == 1
    assert events(notices) == list(action.notices)
    assert problems(document) == []
