"""Random people take random actions on a few pieces; after every step the workflow's rules still hold.

A Hypothesis state machine: each example sets up a department and its people, then runs a random sequence of
submissions, approvals, returns, rejections, publications, withdrawals and edits through review.services,
half of them by anyone at all and half by someone plausible (the role the piece waits for). After each step
every piece must satisfy tests/invariants.py; a refused action must have changed nothing, a successful one
must have appended exactly its own audit event; and what the rules say must succeed does succeed.
The people are made once; each example's pieces live in a transaction rolled back at its end.
"""

import datetime
import itertools
import os

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import event as note
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule, run_state_machine_as_test

from review import services
from review.defaults import create_clinic_workflow
from review.models import AuditEvent, Document, Stage, StageReview, Workflow
from tests import factories
from tests.factories import Role
from tests.invariants import chain_problem, problems, snapshot

State = Document.State
PERSONAS = ["drafter", "officer", "head", "leader", "principal", "publisher", "outsider", "officer_and_head"]
ACTIONS = ["submit", "approve", "return", "reject", "publish", "withdraw", "edit"]
RECORDED_AS = {
    "submit": AuditEvent.Action.SUBMITTED,
    "approve": AuditEvent.Action.APPROVED,
    "return": AuditEvent.Action.CHANGES_REQUESTED,
    "reject": AuditEvent.Action.REJECTED,
    "publish": AuditEvent.Action.PUBLISHED,
    "withdraw": AuditEvent.Action.WITHDRAWN,
    "edit": AuditEvent.Action.EDITED,
}
# Who acts at each stage of the clinic's workflow (officer_and_head holds two of them).
ACTS_AT = {
    Role.INFORMATION_OFFICER: ["officer", "officer_and_head"],
    Role.DEPARTMENT_HEAD: ["head", "officer_and_head"],
    Role.PUBLICITY_LEADER: ["leader"],
    Role.PRINCIPAL_LEADER: ["principal"],
}
# What someone plausible does next, by state; repeated entries are likelier.
NEXT_STEPS = {
    State.DRAFT: ["submit", "submit", "submit", "edit", "edit", "withdraw"],
    State.CHANGES_REQUESTED: ["submit", "submit", "edit", "edit", "withdraw"],
    State.IN_REVIEW: ["approve"] * 6 + ["return", "return", "return", "reject", "withdraw"],
    State.APPROVED: ["publish", "publish", "publish", "publish", "withdraw"],
    State.PUBLISHED: ["publish", "withdraw"],
    State.REJECTED: ["submit", "approve", "edit"],
    State.WITHDRAWN: ["submit", "publish", "edit"],
}
# A piece or two on the go at a time (so each gets far), a new one when one is rejected or withdrawn.
MAX_LIVE_PIECES, MAX_PIECES = 2, 4


class Journeys(RuleBasedStateMachine):
    def __init__(self, people: dict):
        super().__init__()
        self.people = people
        self.states: dict[int, str] = {}  # each piece's state after the last step, by id
        self.serial = itertools.count(1)
        self.example = transaction.atomic()
        self.example.__enter__()

    def teardown(self):
        try:
            for pk in self.states:
                assert problems(Document(pk=pk)) == [], f"piece {pk}"
            assert chain_problem() == ""
        finally:
            transaction.set_rollback(True)
            self.example.__exit__(None, None, None)

    def live_pieces(self) -> list[int]:
        return [pk for pk, state in self.states.items() if state not in (State.REJECTED, State.WITHDRAWN)]

    @initialize(is_major=st.booleans())
    def first_piece(self, is_major):
        self.new_piece(is_major)

    @precondition(lambda self: len(self.live_pieces()) < MAX_LIVE_PIECES and len(self.states) < MAX_PIECES)
    @rule(is_major=st.booleans())
    def new_piece(self, is_major):
        document = factories.make_document(
            drafter=self.people["drafter"], is_major=is_major, channels=["website", "wechat"]
        )
        self.states[document.pk] = document.state

    @rule(
        persona=st.sampled_from(PERSONAS),
        action=st.sampled_from(ACTIONS),
        piece=st.integers(0),
        detail=st.integers(0, 9),
    )
    def anyone_acts(self, persona, action, piece, detail):
        pieces = list(self.states)
        self.take(persona, action, pieces[piece % len(pieces)], detail)

    @rule(piece=st.integers(0), choice=st.integers(0), detail=st.integers(0, 9))
    def someone_plausible_acts(self, piece, choice, detail):
        pieces = self.live_pieces() or list(self.states)  # rejected and withdrawn pieces only refuse
        document = Document.objects.select_related("current_stage").get(pk=pieces[piece % len(pieces)])
        steps = NEXT_STEPS[document.state]
        action = steps[choice % len(steps)]
        if action in ("submit", "edit", "withdraw"):
            persona = "drafter"
        elif action == "publish":
            persona = "publisher"
        elif document.current_stage is not None:
            candidates = ACTS_AT[document.current_stage.role]
            persona = candidates[(choice // len(steps)) % len(candidates)]
        else:
            persona = "officer"
        self.take(persona, action, document.pk, detail)

    def take(self, persona: str, action: str, pk: int, detail: int) -> None:
        """Have `persona` try `action` on the piece; check that it did just that, or nothing at all."""
        user = self.people[persona]
        document = Document.objects.select_related("current_stage").get(pk=pk)
        state = document.state
        expected = self.expected_to_succeed(persona, action, document, detail)
        before = snapshot()
        try:
            self.perform(action, user, document, detail)
        except (services.Conflict, PermissionDenied, ValueError) as refusal:
            note(f"{action}: refused")
            assert expected is not True, f"{persona} should have been able to {action} a {state} piece: {refusal}"
            assert snapshot() == before, f"refused {action} by {persona} changed something"
            return
        note(f"{action}: done")
        assert expected is not False, f"{persona} could {action} a {state} piece"
        head = before["audit"]["head"]
        events = list(AuditEvent.objects.filter(sequence__gt=head[0] if head else 0))
        assert len(events) == 1, f"{action} appended {len(events)} events"
        [event] = events
        now = self.states[pk] = Document.objects.get(pk=pk).state
        if action == "edit":
            assert (event.from_state, event.to_state, now) == ("", "", state)
        else:
            assert (event.from_state, event.to_state) == (state, now)
        assert (event.action, event.document_id, event.actor_id) == (RECORDED_AS[action], pk, user.pk)
        # Only a successful action changes anything: the piece it changed is checked now, all of them at the end.
        assert problems(Document(pk=pk)) == [], f"after {persona} did {action}"

    def perform(self, action: str, user, document: Document, detail: int) -> None:
        # detail 0 stands for a blank reason (refused) or a channel the piece was not approved for.
        reason = "" if detail == 0 else f"理由{detail}"
        if action == "submit":
            services.submit_document(document=document, user=user)
        elif action == "approve":
            services.approve(document=document, user=user, opinion="同意。")
        elif action == "return":
            services.request_changes(document=document, user=user, reason=reason)
        elif action == "reject":
            services.reject(document=document, user=user, reason=reason)
        elif action == "publish":
            services.publish(
                document=document,
                user=user,
                channel="weibo" if detail == 0 else document.channels[detail % len(document.channels)],
                url=f"https://example.org/n/{document.pk}",
                published_at=datetime.datetime(2026, 3, 1, 9, 30, tzinfo=datetime.UTC),
            )
        elif action == "withdraw":
            services.withdraw(document=document, user=user, reason=reason)
        else:
            # A new title each time (a change, so a new revision); sometimes the major flag flips too.
            changes = {"title": f"{document.title[:150]}·{next(self.serial)}"}
            if detail % 3 == 0:
                changes["is_major"] = not document.is_major
            services.edit_document(document=document, user=user, **changes)

    def expected_to_succeed(self, persona: str, action: str, document: Document, detail: int) -> bool | None:
        """Return what the rules say of this attempt, restated independently of the code: True, False or None."""
        state = document.state
        if persona == "outsider":
            return False
        if action in ("return", "reject") and detail == 0:
            return False
        if action in ("submit", "edit"):
            return persona == "drafter" and state in (State.DRAFT, State.CHANGES_REQUESTED)
        if action == "withdraw":
            return persona == "drafter" and state not in (State.PUBLISHED, State.REJECTED, State.WITHDRAWN)
        if action == "publish":
            if detail == 0 or persona != "publisher" or state not in (State.APPROVED, State.PUBLISHED):
                return False
            # The register keeps one publication per piece and channel.
            channel = document.channels[detail % len(document.channels)]
            return not document.publications.filter(channel=channel).exists()
        # approve, return, reject
        if state != State.IN_REVIEW:
            return False
        user = self.people[persona]
        decided_elsewhere = (
            StageReview.objects.filter(document=document, decided_by=user)
            .exclude(stage=document.current_stage)
            .exists()
        )
        return persona in ACTS_AT[document.current_stage.role] and not decided_elsewhere


Journeys.TestCase.settings = settings(
    # Locally each run explores new journeys; CI replays the same ones, so a landing never hangs on luck.
    derandomize=bool(os.environ.get("CI")),
    max_examples=40,
    stateful_step_count=35,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.fixture
def people(drafter, officer, head, leader, principal, publisher, outsider, department):
    """The personas, one of them an information officer who is also the department's head."""
    if not Workflow.objects.filter(is_active=True).exists():
        create_clinic_workflow(Workflow, Stage)  # emptied by an earlier transactional test
    officer_and_head = factories.make_user(
        "officer_and_head",
        roles=[(Role.INFORMATION_OFFICER, department), (Role.DEPARTMENT_HEAD, department)],
        password=None,
    )
    return {
        "drafter": drafter,
        "officer": officer,
        "head": head,
        "leader": leader,
        "principal": principal,
        "publisher": publisher,
        "outsider": outsider,
        "officer_and_head": officer_and_head,
    }


def test_random_journeys_keep_the_rules(people):
    run_state_machine_as_test(lambda: Journeys(people), settings=Journeys.TestCase.settings)
