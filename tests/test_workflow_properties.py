"""Random people take random actions on a few pieces; after every step the workflow's rules still hold.

A Hypothesis state machine: each example sets up a department and its people, then runs a random sequence of
submissions, approvals, returns, rejections, publications, withdrawals and edits through review.services,
half of them by anyone at all and half by someone plausible (the role the piece waits for). Meanwhile an
administrator changes the workflow's definition (renames, reorders, gives a stage another role, adds and deletes
stages) while pieces are in flight: a piece keeps the route it copied when first submitted, and only pieces
submitted afterwards follow the new definition.

After each step every piece must satisfy tests/invariants.py (which checks who acted at each stage against the
piece's own route, never the definition), and each submitted piece's route must be exactly the copy it took. A
refused action must have changed nothing but the audit log, where it is recorded as refused (unless it was only
bad input, which is not recorded), and must be refused for the reason the rules give, in their order: the
piece's state first (a conflict, late clicks included), then the person, then the input. A successful one must
have appended exactly its own audit event; and what the rules say must succeed does succeed.
The people are made once; each example's pieces and definition changes live in a transaction rolled back at
its end.
"""

import itertools
import os

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import event as note
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule, run_state_machine_as_test

from audit.labels import Action as LogAction
from audit.models import AuditEvent
from review import services
from review.defaults import add_default_checklist, create_clinic_workflow, create_error_categories
from review.models import AuditAction, ChecklistItem, Document, ErrorCategory, Stage, StageReview, Workflow
from review.permissions import grant_drift
from review.reasons import in_each_language
from tests import factories
from tests.factories import Role
from tests.invariants import chain_problem, problems, snapshot

State = Document.State
Decision = StageReview.Decision
PERSONAS = ["drafter", "officer", "head", "leader", "principal", "publisher", "outsider", "officer_and_head"]
ACTIONS = ["submit", "approve", "return", "reject", "publish", "withdraw", "edit"]
RECORDED_AS = {
    "submit": AuditAction.SUBMITTED,
    "approve": AuditAction.APPROVED,
    "return": AuditAction.RETURNED,
    "reject": AuditAction.REJECTED,
    "publish": AuditAction.PUBLISHED,
    "withdraw": AuditAction.WITHDRAWN,
    "edit": AuditAction.EDITED,
}
# What a refusal of each action says was attempted.
ATTEMPTED = {action: action for action in ACTIONS}
# How the rules refuse: the piece's state (or a late click), the person, the input; in that order.
OK, CONFLICT, NOT_ALLOWED, INVALID = "ok", services.Conflict, services.NotAllowed, services.Invalid
# Who holds each reviewing role for the department (officer_and_head holds two of them; the outsider is an
# information officer of another department, the leaders serve the whole organisation).
ACTS_AT = {
    Role.INFORMATION_OFFICER: ["officer", "officer_and_head"],
    Role.DEPARTMENT_HEAD: ["head", "officer_and_head"],
    Role.PUBLICITY_LEADER: ["leader"],
    Role.PRINCIPAL_LEADER: ["principal"],
}
REVIEWER_ROLES = list(ACTS_AT)
# What someone plausible does next, by state; repeated entries are likelier.
NEXT_STEPS = {
    State.DRAFT: ["submit", "submit", "submit", "edit", "edit", "withdraw"],
    State.RETURNED: ["submit", "submit", "edit", "edit", "withdraw"],
    State.IN_REVIEW: ["approve"] * 6 + ["return", "return", "return", "reject", "withdraw", "edit"],
    State.APPROVED: ["publish", "publish", "publish", "publish", "withdraw", "edit"],
    State.PUBLISHED: ["publish", "withdraw"],
    State.REJECTED: ["submit", "approve", "edit"],  # refused: a rejected piece is final
    State.WITHDRAWN: ["submit", "publish", "edit"],
}
# What an administrator does to the workflow's definition.
DEFINITION_CHANGES = ["rename", "reorder", "change role", "toggle major only", "add", "delete"]
# A piece or two on the go at a time (so each gets far), a new one when one is rejected or withdrawn.
MAX_LIVE_PIECES, MAX_PIECES = 2, 4
MAX_STAGES = 6

# A stage as the test models it: (position, name, acting role, only for major matters).
RouteRow = tuple[int, str, str, bool]


def route_of(document: Document) -> list[RouteRow]:
    return list(document.route.order_by("position").values_list("position", "name", "role", "major_only"))


def applicable(route: list[RouteRow], is_major: bool) -> list[RouteRow]:
    return [row for row in route if is_major or not row[3]]


def signature(document: Document, detail: int) -> tuple[list[dict], list[dict]]:
    """Return an approval's checklist answers and error counts for the piece's current stage: with detail 0 a
    question left unanswered, 1 a "no" without saying what is wrong, 2 errors counted (where the stage proofreads,
    or refused); otherwise "yes" to every question, or "no" with a note to the last one when detail is 3, 6 or 9."""
    if document.current_stage is None:
        return [], []
    answers, errors = factories.answers(document), []
    if detail == 0:
        answers = answers[1:]
    elif detail == 1 and answers:
        answers[0] = {**answers[0], "ok": False, "note": ""}
    elif detail == 2:
        errors = [{"category": ErrorCategory.objects.filter(is_active=True).first().pk, "count": 2}]
    elif detail % 3 == 0 and answers:
        answers[-1] = {**answers[-1], "ok": False, "note": "请核实。"}
    return answers, errors


class Journeys(RuleBasedStateMachine):
    def __init__(self, people: dict, workflow: Workflow):
        super().__init__()
        self.people = people
        self.workflow = workflow
        self.states: dict[int, str] = {}  # each piece's state after the last step, by id
        self.routes: dict[int, list[RouteRow]] = {}  # each submitted piece's route, as copied at first submission
        self.serial = itertools.count(1)
        self.example = transaction.atomic()
        self.example.__enter__()
        self.definition: list[RouteRow] = self.stored_definition()  # the administrator's view of it

    def teardown(self):
        try:
            for pk in self.states:
                assert problems(Document(pk=pk)) == [], f"piece {pk}"
            self.check_routes()
            assert chain_problem() == ""
        finally:
            transaction.set_rollback(True)
            self.example.__exit__(None, None, None)

    def stored_definition(self) -> list[RouteRow]:
        return list(self.workflow.stages.order_by("position").values_list("position", "name", "role", "major_only"))

    def check_routes(self) -> None:
        """Every submitted piece still has exactly the route it copied; no piece has one before submission."""
        for pk in self.states:
            document = Document.objects.get(pk=pk)
            assert route_of(document) == self.routes.get(pk, []), f"piece {pk}'s route changed"

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
        change=st.sampled_from(DEFINITION_CHANGES),
        which=st.integers(0),
        other=st.integers(0),
        role=st.sampled_from(REVIEWER_ROLES),
        major_only=st.booleans(),
        checklist=st.booleans(),
    )
    def administrator_changes_the_definition(self, change, which, other, role, major_only, checklist):
        """Change the workflow's stages through the ORM, as the admin's forms would; pieces in flight keep theirs."""
        before = snapshot()
        stages = list(self.workflow.stages.order_by("position"))
        if change == "add" or not stages:
            if len(stages) >= MAX_STAGES:
                return
            position = (stages[-1].position if stages else 0) + 1
            number = next(self.serial)
            # A stage with a checklist (and a proofread), or one with neither.
            stage = Stage.objects.create(
                workflow=self.workflow,
                position=position,
                name=f"新增{number}",
                proofread_name=f"新校{number}" if checklist else "",
                role=role,
                major_only=major_only,
            )
            if checklist:
                add_default_checklist(stage, ChecklistItem)
        else:
            stage = stages[which % len(stages)]
            if change == "rename":
                stage.name = f"{stage.name[:40]}·{next(self.serial)}"
                stage.save()
            elif change == "reorder":
                swap = stages[other % len(stages)]
                first, second = stage.position, swap.position
                if first != second:
                    stage.position = 32000  # out of the way of the unique position
                    stage.save()
                    swap.position = first
                    swap.save()
                    stage.position = second
                    stage.save()
            elif change == "change role":
                stage.role = role
                stage.save()
            elif change == "toggle major only":
                stage.major_only = not stage.major_only
                stage.save()
            else:
                stage.delete()
        note(f"definition: {change}")
        self.definition = self.stored_definition()
        # Nothing a piece has (its route, signatures, permissions, audit trail) follows the definition.
        assert snapshot() == before
        self.check_routes()
        assert grant_drift() == []
        for pk in self.states:
            assert problems(Document(pk=pk)) == [], f"piece {pk} after the definition changed"

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
        """Have `persona` try `action` on the piece; check that it did just that, or nothing but its refusal."""
        user = self.people[persona]
        document = Document.objects.select_related("current_stage").get(pk=pk)
        state = document.state
        expected = self.expected_outcome(persona, action, document, detail)
        before = snapshot()
        head = before["audit"]["head"]
        try:
            self.perform(action, user, document, detail)
        except services.Refusal as refusal:
            note(f"{action}: refused ({type(refusal).__name__})")
            assert expected is not OK, f"{persona} should have been able to {action} a {state} piece: {refusal}"
            assert type(refusal) is expected, (
                f"{persona} trying to {action} a {state} piece: {type(refusal).__name__} ({refusal}), "
                f"the rules say {expected.__name__}"
            )
            after = snapshot()
            assert after["tables"] == before["tables"], f"refused {action} by {persona} changed something"
            events = list(AuditEvent.objects.filter(sequence__gt=head[0] if head else 0))
            if not refusal.recorded:
                assert events == [], f"{action} refused for its input was recorded"
                return
            assert len(events) == 1, f"refused {action} appended {len(events)} events"
            [event] = events
            assert (
                event.action, event.object_type, event.object_id, event.actor_id, event.from_state, event.to_state,
                event.data,
            ) == (
                LogAction.REFUSED, "review.document", pk, user.pk, state, state,
                {"attempted": ATTEMPTED[action], "reason": refusal.message,
                 "reasons": in_each_language(refusal.reason)},
            )  # fmt: skip
            return
        note(f"{action}: done")
        assert expected is OK, f"{persona} could {action} a {state} piece, the rules say {expected.__name__}"
        events = list(AuditEvent.objects.filter(sequence__gt=head[0] if head else 0))
        document = Document.objects.get(pk=pk)
        now = self.states[pk] = document.state
        restarted = action == "edit" and state in (State.IN_REVIEW, State.APPROVED)
        if restarted:
            # A change after submission is the edit, then a new round from the first stage.
            assert [event.action for event in events] == [AuditAction.EDITED, AuditAction.SUBMITTED]
            edited, event = events
            assert (edited.from_state, edited.to_state, event.from_state, event.to_state) == ("", "", state, now)
            assert now == State.IN_REVIEW and event.comment == f"改{detail}"
        else:
            assert len(events) == 1, f"{action} appended {len(events)} events"
            [event] = events
            if action == "edit":
                assert (event.from_state, event.to_state, now) == ("", "", state)
            else:
                assert (event.from_state, event.to_state) == (state, now)
            assert (event.action, event.object_type, event.object_id, event.actor_id) == (
                RECORDED_AS[action],
                "review.document",
                pk,
                user.pk,
            )
        if action == "submit" and pk not in self.routes:
            # The first submission copies the definition as it is now; later rounds follow that copy.
            self.routes[pk] = self.definition
        if action == "submit" or restarted:
            stages = [name for _position, name, _role, _major in applicable(self.routes[pk], document.is_major)]
            expected_data = {"round": document.round, "stage": stages[0], "stages": stages}
            assert event.data == ({**expected_data, "restarted": True} if restarted else expected_data)
        self.check_routes()
        # Only a successful action changes anything: the piece it changed is checked now, all of them at the end.
        assert problems(Document(pk=pk)) == [], f"after {persona} did {action}"

    def perform(self, action: str, user, document: Document, detail: int) -> None:
        # detail 0 stands for a blank reason (refused) or a channel the piece was not approved for.
        reason = "" if detail == 0 else f"理由{detail}"
        if action == "submit":
            # detail 0 leaves out what changed (refused for a returned piece).
            services.submit_document(document=document, user=user, note="" if detail == 0 else f"改{detail}")
        elif action == "approve":
            answers, errors = signature(document, detail)
            services.approve(
                document=document,
                user=user,
                password=factories.PASSWORD,
                opinion="同意。",
                checklist=answers,
                errors=errors,
            )
        elif action == "return":
            services.return_for_changes(document=document, user=user, reason=reason)
        elif action == "reject":
            services.reject(document=document, user=user, reason=reason)
        elif action == "publish":
            services.publish(
                document=document,
                user=user,
                channel="weibo" if detail == 0 else document.channels[detail % len(document.channels)],
                url=f"https://example.org/n/{document.pk}",
                published_at=timezone.now(),
            )
        elif action == "withdraw":
            services.withdraw(document=document, user=user, reason=reason)
        else:
            # A new title each time (a change, so a new revision); sometimes the major flag flips too.
            changes = {"title": f"{document.title[:150]}·{next(self.serial)}"}
            if detail % 3 == 0:
                changes["is_major"] = not document.is_major
            services.edit_document(document=document, user=user, note="" if detail == 0 else f"改{detail}", **changes)

    def expected_outcome(self, persona: str, action: str, document: Document, detail: int):
        """Return what the rules say of this attempt, restated independently of the code: OK, or the refusal
        (CONFLICT, NOT_ALLOWED or INVALID) that comes first in their order: when, then who, then what."""
        state = document.state
        drafter = persona == "drafter"
        if action == "submit":
            if state not in (State.DRAFT, State.RETURNED):
                return CONFLICT
            if not drafter:
                return NOT_ALLOWED
            route = self.routes.get(document.pk, self.definition)
            if not applicable(route, document.is_major):
                return CONFLICT  # no stage to review it: nothing to submit it to
            if state == State.RETURNED and detail == 0:
                return INVALID  # resubmitted without saying what changed
            return OK
        if action == "edit":
            if state not in (State.DRAFT, State.RETURNED, State.IN_REVIEW, State.APPROVED):
                return CONFLICT
            if not drafter:
                return NOT_ALLOWED
            if state in (State.IN_REVIEW, State.APPROVED):
                # The change restarts review: along the piece's route, with the major flag as the edit leaves it.
                is_major = document.is_major != (detail % 3 == 0)
                if not applicable(self.routes[document.pk], is_major):
                    return CONFLICT
                if detail == 0:
                    return INVALID  # no note of what changed
            return OK
        if action == "withdraw":
            if state not in (State.DRAFT, State.IN_REVIEW, State.RETURNED, State.APPROVED):
                return CONFLICT
            return OK if drafter else NOT_ALLOWED
        if action == "publish":
            if state not in (State.APPROVED, State.PUBLISHED):
                return CONFLICT
            if persona != "publisher":
                return NOT_ALLOWED
            if detail == 0:
                return INVALID  # a channel the piece was not approved for
            # The register keeps one publication per piece and channel: a second is a late click.
            channel = document.channels[detail % len(document.channels)]
            return CONFLICT if document.publications.filter(channel=channel).exists() else OK
        # approve, return, reject: at the piece's current stage of its own route.
        if state != State.IN_REVIEW:
            return CONFLICT
        user = self.people[persona]
        position = document.current_stage.position
        [role] = [row[2] for row in self.routes[document.pk] if row[0] == position]
        decided_elsewhere = (
            StageReview.objects.filter(document=document, decided_by=user)
            .exclude(stage=document.current_stage)
            .exists()
        )
        if drafter or persona not in ACTS_AT[role] or decided_elsewhere:
            # A late click, though, if they could have acted at a stage of this round someone else has decided.
            decided = StageReview.objects.filter(document=document, round=document.round).exclude(
                decision=Decision.PENDING
            )
            could_have = any(
                persona in ACTS_AT[stage_role] for stage_role in decided.values_list("stage__role", flat=True)
            )
            late = not drafter and could_have and not decided.filter(decided_by=user).exists()
            return CONFLICT if late else NOT_ALLOWED
        if action in ("return", "reject") and detail == 0:
            return INVALID  # no reason given
        if action == "approve":
            stage = document.current_stage
            if detail in (0, 1) and stage.checklist.exists():
                return INVALID  # a question unanswered, or a "no" that does not say what is wrong
            if detail == 2 and not stage.proofread_name:
                return INVALID  # errors counted at a stage that does not proofread
        return OK


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
    officer_and_head = factories.make_user(
        "officer_and_head", roles=[(Role.INFORMATION_OFFICER, department), (Role.DEPARTMENT_HEAD, department)]
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


@pytest.fixture
def workflow(db):
    """The one workflow that applies to everyday pieces (the clinic's), whose definition the administrator changes."""
    everyday = Workflow.objects.filter(is_active=True, kind="")
    if not everyday.exists():
        create_clinic_workflow(Workflow, Stage, ChecklistItem)  # emptied by an earlier transactional test
    if not ErrorCategory.objects.exists():
        create_error_categories(ErrorCategory)  # emptied likewise
    [workflow] = everyday
    return workflow


def test_random_journeys_keep_the_rules(people, workflow):
    run_state_machine_as_test(lambda: Journeys(people, workflow), settings=Journeys.TestCase.settings)
