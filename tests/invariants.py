"""What must hold of every piece and of the audit log whatever happened to them: races, crashes, random journeys.

`problems(document)` returns the rules a piece breaks (an empty list when it breaks none); `snapshot()` returns
the database's content so a test can show that a refused or crashed action changed nothing at all.
"""

from django.apps import apps
from django.db import connection
from guardian.models import GroupObjectPermission, UserObjectPermission

from accounts.services import group_name
from audit.models import AuditEvent, Checkpoint
from audit.verify import verify_chain
from review.models import (
    AuditAction,
    ChecklistAnswer,
    Document,
    DocumentGroupObjectPermission,
    DocumentUserObjectPermission,
    Publication,
    RecordedError,
    Revision,
    RouteChecklistItem,
    RouteStage,
    StageReview,
)

Action = AuditAction
Decision = StageReview.Decision
State = Document.State

# Audit actions that move a piece from one state to another, and the decision each decision event records.
TRANSITIONS = {
    Action.CREATED,
    Action.SUBMITTED,
    Action.APPROVED,
    Action.RETURNED,
    Action.REJECTED,
    Action.PUBLISHED,
    Action.WITHDRAWN,
}
DECISION_OF = {
    Action.APPROVED: Decision.APPROVED,
    Action.RETURNED: Decision.RETURNED,
    Action.REJECTED: Decision.REJECTED,
}


def problems(document: Document) -> list[str]:
    """Return every rule the piece breaks, as stored now, and every disagreement with its audit trail."""
    document = Document.objects.select_related("workflow", "current_stage").get(pk=document.pk)
    reviews = list(
        document.stage_reviews.select_related("stage", "revision", "decided_by").order_by("round", "stage__position")
    )
    found = []
    found += _state_problems(document, reviews)
    found += _route_problems(document, reviews)
    found += _four_eyes_problems(document, reviews)
    found += _round_problems(document, reviews)
    found += _publication_problems(document, reviews)
    found += _trail_problems(document, reviews)
    found += _checklist_problems(document, reviews)
    return found


def _state_problems(document, reviews) -> list[str]:
    found = []
    if document.state not in State.values:
        found.append(f"unknown state {document.state!r}")
    pending = [review for review in reviews if review.decision == Decision.PENDING]
    if document.state == State.IN_REVIEW:
        waiting = [r for r in pending if r.round == document.round and r.stage_id == document.current_stage_id]
        if document.current_stage_id is None or len(waiting) != 1:
            found.append(f"in review at stage {document.current_stage_id} with {len(waiting)} pending reviews there")
        if any(review.round != document.round for review in pending):
            found.append("a pending review of an earlier round")
    else:
        if document.current_stage_id is not None:
            found.append(f"{document.state} but still at stage {document.current_stage_id}")
        if pending:
            found.append(f"{document.state} with {len(pending)} pending reviews")
    return found


def _route_problems(document, reviews) -> list[str]:
    """The piece's own route decides who acts, never its workflow's definition (which may have changed since).

    Every stage review and the current stage belong to the piece's route; each round runs the stages of the route
    its submission announced; whoever decided a stage held that stage's role in the route (people keep their
    roles in the tests that check this), signed as it, and the audit log names that role and that stage.
    """
    found = []
    route = {stage.pk: stage for stage in document.route.all()}
    if document.round and not route:
        found.append(f"submitted {document.round} times, but the piece has no route")
    if document.current_stage_id is not None and document.current_stage_id not in route:
        found.append(f"at stage {document.current_stage_id}, which is not on the piece's route")
    for review in reviews:
        if review.stage_id not in route:
            found.append(f"the {review.meaning} review of round {review.round} is of a stage not on the piece's route")
        elif review.meaning != review.stage.name:
            found.append(f"the {review.meaning} review of round {review.round} is of the route's {review.stage.name}")
    events = AuditEvent.objects.about(document).filter(action__in=TRANSITIONS).order_by("sequence")
    for event in events.filter(action=Action.SUBMITTED):
        number = event.data.get("round")
        announced = [review.stage.name for review in reviews if review.round == number]
        if event.data.get("stages") != announced or event.data.get("stage") != (announced or [None])[0]:
            found.append(f"round {number} announced stages {event.data.get('stages')}, but ran {announced}")
    decisions = {event.data.get("stage_review"): event for event in events.filter(action__in=DECISION_OF)}
    for review in reviews:
        if review.decided_by_id is None:
            continue
        stage = review.stage
        if review.signer_role != stage.role:
            found.append(f"the {stage.name} decision of round {review.round} is signed as {review.signer_role}")
        held = group_name(stage.role, document.department_id)
        if not review.decided_by.groups.filter(name=held).exists():
            found.append(f"{review.decided_by} decided {stage.name} without its role in the route ({stage.role})")
        event = decisions.get(review.pk)
        if event is not None and (event.actor_role, event.data.get("stage"), event.data.get("round")) != (
            stage.role,
            stage.name,
            review.round,
        ):
            found.append(
                f"#{event.sequence} records {event.data.get('stage')} as {event.actor_role} in round "
                f"{event.data.get('round')}, but the route's stage is {stage.name} for {stage.role}, "
                f"round {review.round}"
            )
    return found


def _four_eyes_problems(document, reviews) -> list[str]:
    found = []
    stages_by_user = {}
    for review in reviews:
        if review.decided_by_id is not None:
            stages_by_user.setdefault(review.decided_by_id, set()).add(review.stage_id)
    for user_id, stages in stages_by_user.items():
        if user_id == document.drafter_id:
            found.append("the drafter decided a stage of their own piece")
        if len(stages) > 1:
            found.append(f"user {user_id} decided {len(stages)} different stages")
    return found


def _round_problems(document, reviews) -> list[str]:
    """Within a round, stages are decided in order and none is skipped: approvals, then one of
    waiting stages, a return or rejection followed by stages not reached, or stages not reached (withdrawn)."""
    found = []
    for number in sorted({review.round for review in reviews}):
        decisions = [review.decision for review in reviews if review.round == number]
        approved = 0
        while approved < len(decisions) and decisions[approved] == Decision.APPROVED:
            approved += 1
        rest = decisions[approved:]
        shapes = (
            not rest,
            rest and set(rest) == {Decision.PENDING},
            rest and rest[0] in (Decision.RETURNED, Decision.REJECTED) and set(rest[1:]) <= {Decision.CANCELLED},
            rest and set(rest) == {Decision.CANCELLED},
        )
        if not any(shapes):
            found.append(f"round {number} runs out of order: {decisions}")
        for review in reviews:
            if review.round == number and review.decision not in (Decision.PENDING, Decision.CANCELLED):
                if not (review.decided_by_id and review.decided_at and review.signer_name):
                    found.append(f"the {review.meaning} decision of round {number} is unsigned")
                if review.revision_hash != review.revision.content_hash:
                    found.append(f"the {review.meaning} signature of round {number} is not bound to its revision")
    if reviews and max(review.round for review in reviews) != document.round:
        found.append(f"the last round reviewed is not the piece's round {document.round}")
    return found


def _publication_problems(document, reviews) -> list[str]:
    found = []
    publications = list(document.publications.all())
    if document.state in (State.APPROVED, State.PUBLISHED) or publications:
        signed = [review for review in reviews if review.round == document.round]
        required = [stage.pk for stage in document.applicable_route()]
        if not signed or any(review.decision != Decision.APPROVED for review in signed):
            found.append(
                f"{document.state} with {len(publications)} publications, but round {document.round} "
                f"is not wholly approved: {[review.decision for review in signed]}"
            )
        elif [review.stage_id for review in signed] != required:
            found.append(f"approved by stages {[review.stage_id for review in signed]}, required {required}")
        for publication in publications:
            if any(review.revision_id != publication.revision_id for review in signed):
                found.append("a publication of a revision its approvals did not sign")
    if bool(publications) != (document.state == State.PUBLISHED):
        found.append(f"{document.state} with {len(publications)} publications")
    return found


def _trail_problems(document, reviews) -> list[str]:
    """Every state change has its event and every event its state change, in an unbroken line of states."""
    found = []
    events = list(AuditEvent.objects.about(document).filter(action__in=TRANSITIONS).order_by("sequence"))
    if not events or events[0].action != Action.CREATED or events[0].to_state != State.DRAFT:
        return ["the trail does not begin with the piece's creation"]
    for previous, event in zip(events, events[1:], strict=False):
        if event.from_state != previous.to_state:
            found.append(
                f"#{event.sequence} {event.action} starts from {event.from_state}, "
                f"but #{previous.sequence} left the piece {previous.to_state}"
            )
    if events[-1].to_state != document.state:
        found.append(f"the trail ends in {events[-1].to_state}, the piece is {document.state}")

    def count(action):
        return sum(1 for event in events if event.action == action)

    if count(Action.SUBMITTED) != document.round:
        found.append(f"{count(Action.SUBMITTED)} submissions recorded for {document.round} rounds")
    if count(Action.PUBLISHED) != document.publications.count():
        found.append(f"{count(Action.PUBLISHED)} publications recorded, {document.publications.count()} stored")
    decided = {review.pk: review for review in reviews if review.decision in DECISION_OF.values()}
    recorded = [event for event in events if event.action in DECISION_OF]
    for event in recorded:
        review = decided.get(event.data.get("stage_review"))
        if review is None or review.decision != DECISION_OF[event.action] or review.decided_by_id != event.actor_id:
            found.append(f"#{event.sequence} {event.action} has no matching decision stored")
    for pk in decided:
        if sum(1 for event in recorded if event.data.get("stage_review") == pk) != 1:
            found.append(f"the decision of stage review {pk} is not recorded exactly once")
    return found


def _checklist_problems(document, reviews) -> list[str]:
    """An approval answers every question of its stage's checklist exactly once, with a note for each "no", and
    records errors only where the stage proofreads; its audit event records the same answers and errors. A
    return, a rejection or a stage not decided carries neither."""
    found = []
    questions, answers, errors = {}, {}, {}
    for item in RouteChecklistItem.objects.filter(stage__document=document).order_by("stage", "position", "pk"):
        questions.setdefault(item.stage_id, []).append(item.pk)
    for answer in ChecklistAnswer.objects.filter(review__document=document).order_by("review", "item__position"):
        answers.setdefault(answer.review_id, []).append(answer)
    for error in RecordedError.objects.filter(review__document=document).select_related("category"):
        errors.setdefault(error.review_id, []).append(error)
    events = {
        event.data.get("stage_review"): event
        for event in AuditEvent.objects.about(document).filter(action=Action.APPROVED)
    }
    for review in reviews:
        given, found_errors = answers.get(review.pk, []), errors.get(review.pk, [])
        name = f"the {review.meaning} {review.decision} review of round {review.round}"
        if review.decision != Decision.APPROVED:
            if given or found_errors:
                found.append(f"{name} carries {len(given)} checklist answers and {len(found_errors)} error counts")
            continue
        if [answer.item_id for answer in given] != questions.get(review.stage_id, []):
            found.append(f"{name} does not answer exactly the questions of its stage's checklist")
        if any(not answer.ok and not answer.note for answer in given):
            found.append(f"{name} says no to a question without saying what is wrong")
        if found_errors and not review.stage.proofread_name:
            found.append(f"{name} records errors at a stage without a proofread")
        event = events.get(review.pk)
        if event is None:
            continue
        if event.data.get("checklist") != [{"item": a.item_id, "ok": a.ok, "note": a.note} for a in given]:
            found.append(f"#{event.sequence} records checklist answers other than those stored for {name}")
        recorded = [(e["category"], e["weight"], e["count"]) for e in event.data.get("errors", [])]
        stored = [(e.category.name, str(e.weight), e.count) for e in found_errors]
        if sorted(recorded) != sorted(stored):
            found.append(f"#{event.sequence} records errors other than those stored for {name}")
    return found


def chain_problem() -> str:
    """Return what is wrong with the audit chain, or "" when it verifies."""
    result = verify_chain()
    return "" if result.ok else f"audit chain broken at {result.bad_sequence}: {result.problem}"


# What the workflow writes: pieces, their routes and checklists, signatures with their answers and error counts,
# revisions, publications, checkpoints, object permissions.
WORKFLOW_MODELS = (
    Document,
    RouteStage,
    RouteChecklistItem,
    StageReview,
    ChecklistAnswer,
    RecordedError,
    Revision,
    Publication,
    Checkpoint,
    DocumentUserObjectPermission,
    DocumentGroupObjectPermission,
    UserObjectPermission,
    GroupObjectPermission,
)


def snapshot(*, everything: bool = False) -> dict:
    """Return the audit log's length and head, and the rows of what the workflow writes (of every table with
    `everything`), for comparing the database before and after."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), max(sequence) FROM audit_event")
        count, last = cursor.fetchone()
        cursor.execute("SELECT hash FROM audit_event WHERE sequence = %s", [last])
        head = cursor.fetchone()
    if everything:
        existing = set(connection.introspection.table_names())
        models = [model for model in apps.get_models() if model._meta.db_table in existing]
    else:
        models = WORKFLOW_MODELS
    return {
        "audit": {"count": count, "head": (last, head[0]) if head else None},
        "tables": {model._meta.label: _rows(model) for model in models},
    }


def _rows(model) -> list[tuple]:
    # Plain SQL: this runs before and after every step of the property test, where the ORM's overhead shows.
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {quote(model._meta.db_table)} ORDER BY {quote(model._meta.pk.column)}")
        return cursor.fetchall()
