"""Several processes act on the same piece at the same moment: one wins, the others are told why, nothing doubles.

The racers are server processes with connections of their own (tests/processes.py), as several app servers
would be; they connect first, then wait on a barrier and act together. On PostgreSQL they share the test
database (the PostgreSQL pass of CI). On SQLite they share a migrated file database: the in-memory test
database is one shared cache in which a second writer fails at once ("database table is locked") instead of
waiting for the first as it does on a file, so threads on it would test SQLite's shared cache, not the app.
"""

import shutil
from dataclasses import dataclass

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone, translation

from accounts.models import User
from audit.labels import Action as LogAction
from audit.models import AuditEvent
from review import services
from review.defaults import create_clinic_workflow
from review.models import AuditAction, ChecklistItem, Document, Stage, Workflow
from tests import factories
from tests.factories import PASSWORD, Role, zh
from tests.invariants import TRANSITIONS, chain_problem, problems
from tests.processes import Outcome, Servers

pytestmark = pytest.mark.django_db(transaction=True)

OFFICERS = ["officer1", "officer2", "officer3", "officer4"]


@dataclass(frozen=True)
class Shared:
    """A database the servers share; `local` when the test's own connection reaches it (PostgreSQL)."""

    servers: Servers
    database: str
    local: bool

    def call(self, function, *args, **kwargs):
        """Run set-up or checks where the database is: here, or on a server."""
        if self.local:
            return function(*args, **kwargs)
        return self.servers.run(self.database, function, *args, **kwargs)

    def race(self, *calls: tuple[str, str, dict]) -> list[Outcome]:
        """Have each (action, person, keyword arguments) acted out at once, each on a server of its own."""
        return self.servers.race(self.database, act, [((action, person), params) for action, person, params in calls])


@pytest.fixture(scope="module")
def servers():
    with Servers(len(OFFICERS)) as servers:
        yield servers


@pytest.fixture(scope="module")
def sqlite_template(servers, tmp_path_factory):
    path = tmp_path_factory.mktemp("race") / "template.sqlite3"
    servers.run(str(path), call_command, "migrate", verbosity=0)
    return path


@pytest.fixture(params=["postgresql", "sqlite"])
def shared(request, tmp_path):
    if request.param == "postgresql":
        if connection.vendor != "postgresql":
            pytest.skip("PostgreSQL races run in the PostgreSQL pass (DATABASE_URL=postgres://...)")
        return Shared(request.getfixturevalue("servers"), connection.settings_dict["NAME"], local=True)
    if connection.vendor != "sqlite":
        pytest.skip("SQLite races run in the SQLite pass")
    path = tmp_path / "race.sqlite3"
    shutil.copy(request.getfixturevalue("sqlite_template"), path)
    return Shared(request.getfixturevalue("servers"), str(path), local=False)


# Run where the database is (the test's process, or a server): plain values in, plain values out.


def prepare(*, count: int = 1, submit: bool = True, approved_by: tuple[str, ...] = ()) -> dict:
    """Create the clinic's people and `count` pieces, submitted and approved by `approved_by` in turn.

    Return the pieces' ids, the stage review the first one waits on (what a decision form carries), each
    piece's answers to the checklist of the stage it waits at ("yes" to every question, as an approval sends them)
    and the report of them before the race.
    """
    if not Workflow.objects.filter(is_active=True).exists():
        create_clinic_workflow(Workflow, Stage, ChecklistItem)  # emptied by an earlier transactional test
    department = factories.make_department(name="公共卫生科", code="public-health")
    roles = {
        "drafter": [(Role.DRAFTER, department)],
        **{name: [(Role.INFORMATION_OFFICER, department)] for name in OFFICERS},
        "head": [(Role.DEPARTMENT_HEAD, department)],
        "leader": [(Role.PUBLICITY_LEADER, None)],
        "publisher1": [(Role.PUBLISHER, None)],
        "publisher2": [(Role.PUBLISHER, None)],
    }
    # Everyone signs with factories.PASSWORD (hashed quickly, as tests/processes.py servers do too).
    people = {name: factories.make_user(name, roles=held) for name, held in roles.items()}
    documents = []
    for _ in range(count):
        document = factories.make_document(drafter=people["drafter"], channels=["website", "wechat"])
        if submit:
            document = factories.approve_by(factories.submit(document), *[people[name] for name in approved_by])
        documents.append(document)
    waiting = documents[0].stage_reviews.filter(decision="pending").order_by("stage__position").first()
    ids = [document.pk for document in documents]
    checklists = [
        factories.answers(document) if document.state == Document.State.IN_REVIEW else [] for document in documents
    ]
    return {"documents": ids, "review": waiting and waiting.pk, "checklists": checklists, "before": report(ids)}


def act(action: str, person: str, *, start, document: int, **params) -> None:
    """Take one action on a piece as one of the clinic's people, once every racer is ready."""
    user = User.objects.get(username=person)
    piece = Document.objects.get(pk=document)
    start.wait()
    getattr(services, action)(document=piece, user=user, **params)


def report(document_ids: list[int]) -> dict:
    """Return what became of the pieces: states, decisions, their audit events (the transitions, and the
    refusals: who was refused what, and why), and every rule they break."""
    documents = Document.objects.filter(pk__in=document_ids).select_related("current_stage").order_by("pk")
    about_them = AuditEvent.objects.filter(object_type=Document._meta.label_lower, object_id__in=document_ids)
    broken = {document.pk: problems(document) for document in documents}
    return {
        "states": [(d.state, d.current_stage.name if d.current_stage else None, d.round) for d in documents],
        "decisions": [
            [
                (r.meaning, r.decision, r.decided_by.username if r.decided_by else None)
                for r in d.stage_reviews.select_related("decided_by").order_by("round", "stage__position")
            ]
            for d in documents
        ],
        "events": [
            (e.object_id, e.action, e.actor.username, e.from_state, e.to_state, e.data.get("stage"))
            for e in about_them.filter(action__in=TRANSITIONS)
            .exclude(action=AuditAction.CREATED)
            .select_related("actor")
            .order_by("sequence")
        ],
        "refusals": sorted(
            (e.object_id, e.actor.username, e.from_state, e.to_state, e.data["attempted"], e.data["reason"])
            for e in about_them.filter(action=LogAction.REFUSED).select_related("actor")
        ),
        "publications": [
            list(d.publications.order_by("pk").values_list("channel", "publisher__username")) for d in documents
        ],
        "events_total": AuditEvent.objects.count(),
        "problems": {pk: found for pk, found in broken.items() if found},
        "chain": chain_problem(),
    }


# The races.


def results(outcomes: list[Outcome]) -> list[str]:
    return sorted(outcome.result for outcome in outcomes)


def label_in_zh(state: str) -> str:
    with translation.override("zh-hans"):
        return str(Document.State(state).label)


def test_one_of_four_officers_signs_the_first_stage(shared):
    prepared = shared.call(prepare)
    [document], review, before = prepared["documents"], prepared["review"], prepared["before"]
    [checklist] = prepared["checklists"]
    signature = {"review_id": review, "password": PASSWORD, "opinion": "同意。", "checklist": checklist}

    outcomes = shared.race(*[("approve", name, {"document": document, **signature}) for name in OFFICERS])

    assert results(outcomes) == ["Conflict", "Conflict", "Conflict", "ok"]
    too_late = zh("Someone else has already decided this stage; the piece is now at %(stage)s.", stage="复审")
    assert {outcome.message for outcome in outcomes if not outcome.ok} == {too_late}
    winner = OFFICERS[[outcome.ok for outcome in outcomes].index(True)]
    after = shared.call(report, [document])
    assert after["states"] == [("in_review", "复审", 1)]
    assert after["decisions"] == [[("初审", "approved", winner), ("复审", "pending", None), ("终审", "pending", None)]]
    assert after["events"] == before["events"] + [(document, "approved", winner, "in_review", "in_review", "初审")]
    # Each late click is refused and logged, as seen in the piece's state at that moment.
    losers = sorted(name for name in OFFICERS if name != winner)
    assert after["refusals"] == [(document, name, "in_review", "in_review", "approve", too_late) for name in losers]
    assert after["events_total"] == before["events_total"] + 1 + len(losers)
    assert (after["problems"], after["chain"]) == ({}, "")


def test_late_officers_without_the_forms_review_are_told_someone_else_decided_the_stage(shared):
    prepared = shared.call(prepare)
    [document], [checklist] = prepared["documents"], prepared["checklists"]

    outcomes = shared.race(
        *[("approve", name, {"document": document, "password": PASSWORD, "checklist": checklist}) for name in OFFICERS]
    )

    # Without the review the form was made for, the late ones could have acted at a stage of this round that
    # someone else has decided since: a late click (409), not a refusal of who they are.
    assert results(outcomes) == ["Conflict", "Conflict", "Conflict", "ok"]
    too_late = zh("Someone else has already decided this stage; the piece is now at %(stage)s.", stage="复审")
    assert {outcome.message for outcome in outcomes if not outcome.ok} == {too_late}
    winner = OFFICERS[[outcome.ok for outcome in outcomes].index(True)]
    after = shared.call(report, [document])
    assert after["states"] == [("in_review", "复审", 1)]
    assert [event[1:3] for event in after["events"]] == [("submitted", "drafter"), ("approved", winner)]
    assert after["refusals"] == [
        (document, name, "in_review", "in_review", "approve", too_late) for name in sorted(set(OFFICERS) - {winner})
    ]
    assert (after["problems"], after["chain"]) == ({}, "")


def test_one_of_an_approval_a_return_and_a_rejection_decides_the_stage(shared):
    prepared = shared.call(prepare)
    [document], review, [checklist] = prepared["documents"], prepared["review"], prepared["checklists"]
    calls = [
        ("approve", "officer1", {"password": PASSWORD, "opinion": "同意。", "checklist": checklist}),
        ("return_for_changes", "officer2", {"reason": "请补充时间。"}),
        ("reject", "officer3", {"reason": "不宜发布。"}),
    ]

    outcomes = shared.race(
        *[(action, name, {"document": document, "review_id": review, **params}) for action, name, params in calls]
    )

    assert results(outcomes) == ["Conflict", "Conflict", "ok"]
    action, winner, _params = calls[[outcome.ok for outcome in outcomes].index(True)]
    state, stage, recorded = {
        "approve": ("in_review", "复审", "approved"),
        "return_for_changes": ("returned", None, "returned"),
        "reject": ("rejected", None, "rejected"),
    }[action]
    after = shared.call(report, [document])
    assert after["states"] == [(state, stage, 1)]
    assert after["events"][1:] == [(document, recorded, winner, "in_review", state, "初审")]
    assert [decision for decision in after["decisions"][0] if decision[2] is not None] == [("初审", recorded, winner)]
    # The others are refused, and logged, as late clicks: the stage they decided on has been decided.
    if action == "approve":
        too_late = zh("Someone else has already decided this stage; the piece is now at %(stage)s.", stage="复审")
    else:
        too_late = zh("This piece is no longer in review (it is now %(state)s).", state=label_in_zh(state))
    attempted = {"approve": "approve", "return_for_changes": "return", "reject": "reject"}
    assert after["refusals"] == sorted(
        (document, name, state, state, attempted[action], too_late) for action, name, _params in calls if name != winner
    )
    assert (after["problems"], after["chain"]) == ({}, "")


def test_a_double_submission_submits_once(shared):
    [document] = shared.call(prepare, submit=False)["documents"]

    outcomes = shared.race(
        ("submit_document", "drafter", {"document": document}), ("submit_document", "drafter", {"document": document})
    )

    assert results(outcomes) == ["Conflict", "ok"]
    assert [outcome.message for outcome in outcomes if not outcome.ok] == [zh("This piece has already been submitted.")]
    after = shared.call(report, [document])
    assert after["states"] == [("in_review", "初审", 1)]
    assert after["decisions"] == [[("初审", "pending", None), ("复审", "pending", None), ("终审", "pending", None)]]
    assert after["events"] == [(document, "submitted", "drafter", "draft", "in_review", "初审")]
    assert after["refusals"] == [
        (document, "drafter", "in_review", "in_review", "submit", zh("This piece has already been submitted."))
    ]
    assert (after["problems"], after["chain"]) == ({}, "")


def test_two_publishers_at_once_are_recorded_one_after_the_other(shared):
    [document] = shared.call(prepare, approved_by=("officer1", "head", "leader"))["documents"]
    published_at = timezone.now().replace(microsecond=0)

    outcomes = shared.race(
        *[
            ("publish", name, {"document": document, "channel": channel, "url": "", "published_at": published_at})
            for name, channel in [("publisher1", "website"), ("publisher2", "wechat")]
        ]
    )

    # Publishing on a second channel is allowed; what must not happen is both starting from "approved".
    assert results(outcomes) == ["ok", "ok"]
    after = shared.call(report, [document])
    assert after["states"] == [("published", None, 1)]
    assert [event[1] + ":" + event[3] + ">" + event[4] for event in after["events"][-2:]] == [
        "published:approved>published",
        "published:published>published",
    ]
    assert sorted(after["publications"][0]) == [("website", "publisher1"), ("wechat", "publisher2")]
    assert (after["problems"], after["chain"]) == ({}, "")


def test_a_publication_and_a_withdrawal_at_once_leave_one_of_them(shared):
    [document] = shared.call(prepare, approved_by=("officer1", "head", "leader"))["documents"]
    publication = {"channel": "website", "url": "", "published_at": timezone.now().replace(microsecond=0)}

    outcomes = shared.race(
        ("publish", "publisher1", {"document": document, **publication}),
        ("withdraw", "drafter", {"document": document, "reason": "活动取消。"}),
    )

    assert results(outcomes) == ["Conflict", "ok"]
    after = shared.call(report, [document])
    if outcomes[0].ok:
        assert outcomes[1].message == zh("This piece can no longer be withdrawn.")
        assert (after["states"], after["publications"]) == ([("published", None, 1)], [[("website", "publisher1")]])
        assert after["refusals"] == [(document, "drafter", "published", "published", "withdraw", outcomes[1].message)]
    else:
        assert outcomes[0].message == zh("Only an approved piece can be marked published.")
        assert (after["states"], after["publications"]) == ([("withdrawn", None, 1)], [[]])
        assert after["refusals"] == [(document, "publisher1", "withdrawn", "withdrawn", "publish", outcomes[0].message)]
    assert (after["problems"], after["chain"]) == ({}, "")


def test_approvals_of_different_pieces_at_once_all_land_on_one_chain(shared):
    prepared = shared.call(prepare, count=len(OFFICERS))
    documents, before = prepared["documents"], prepared["before"]

    outcomes = shared.race(
        *[
            ("approve", name, {"document": document, "password": PASSWORD, "checklist": checklist})
            for name, document, checklist in zip(OFFICERS, documents, prepared["checklists"], strict=True)
        ]
    )

    assert results(outcomes) == ["ok"] * len(OFFICERS)
    after = shared.call(report, documents)
    assert after["states"] == [("in_review", "复审", 1)] * len(OFFICERS)
    assert sorted(event[:3] for event in after["events"] if event[1] == "approved") == sorted(
        (document, "approved", name) for name, document in zip(OFFICERS, documents, strict=True)
    )
    assert after["events_total"] == before["events_total"] + len(OFFICERS)
    assert (after["problems"], after["chain"]) == ({}, "")
