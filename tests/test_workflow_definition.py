"""Rule 1: stages run in order; administrators define workflows per department or kind of piece."""

import pytest

from review import services
from review.models import Document, Stage, Workflow
from tests import factories
from tests.factories import Role, fresh

CLINIC = [
    (1, "初审", Role.INFORMATION_OFFICER, False),
    (2, "复审", Role.DEPARTMENT_HEAD, False),
    (3, "终审", Role.PUBLICITY_LEADER, False),
    (4, "审定", Role.PRINCIPAL_LEADER, True),
]


def make_workflow(name, stages, *, department=None, kind="", is_active=True) -> Workflow:
    workflow = Workflow.objects.create(name=name, department=department, kind=kind, is_active=is_active)
    for position, (stage_name, role) in enumerate(stages, start=1):
        Stage.objects.create(workflow=workflow, position=position, name=stage_name, role=role)
    return workflow


def piece(department, kind="news", is_major=False) -> Document:
    return Document(department=department, kind=kind, is_major=is_major)


@pytest.fixture
def default(db):
    return Workflow.objects.get(name="三审三校")


def test_it_starts_with_the_clinics_rule(default):
    assert (default.is_active, default.department, default.kind) == (True, None, "")
    stages = default.stages.order_by("position")
    assert [(s.position, s.name, s.role, s.major_only) for s in stages] == CLINIC


def test_it_includes_the_principal_leaders_stage_only_for_major_matters(default, department):
    assert [s.name for s in default.stages_for(piece(department))] == ["初审", "复审", "终审"]
    assert [s.name for s in default.stages_for(piece(department, is_major=True))] == ["初审", "复审", "终审", "审定"]


def test_it_picks_the_departments_own_workflow(default, department, other_department):
    own = make_workflow("本科室流程", [("初审", Role.INFORMATION_OFFICER)], department=department)

    assert Workflow.objects.for_document(piece(department)) == own
    assert Workflow.objects.for_document(piece(other_department)) == default


def test_it_picks_the_workflow_for_the_kind_of_piece(default, department):
    notices = make_workflow("通知流程", [("初审", Role.INFORMATION_OFFICER)], kind="notice")

    assert Workflow.objects.for_document(piece(department, kind="notice")) == notices
    assert Workflow.objects.for_document(piece(department, kind="news")) == default


def test_it_prefers_the_most_specific_workflow(default, department):
    by_kind = make_workflow("通知流程", [("初审", Role.INFORMATION_OFFICER)], kind="notice")
    by_department = make_workflow("本科室流程", [("初审", Role.INFORMATION_OFFICER)], department=department)
    by_both = make_workflow(
        "本科室通知流程", [("初审", Role.INFORMATION_OFFICER)], department=department, kind="notice"
    )

    assert Workflow.objects.for_document(piece(department, kind="notice")) == by_both
    by_both.is_active = False
    by_both.save()
    # The department comes before the kind.
    assert Workflow.objects.for_document(piece(department, kind="notice")) == by_department
    assert Workflow.objects.for_document(piece(factories.make_department(), kind="notice")) == by_kind


def test_it_ignores_inactive_workflows(default, department):
    make_workflow("旧流程", [("初审", Role.INFORMATION_OFFICER)], department=department, is_active=False)

    assert Workflow.objects.for_document(piece(department)) == default
    default.is_active = False
    default.save()
    assert Workflow.objects.for_document(piece(department)) is None


def test_it_runs_a_departments_shorter_workflow(department, drafter, officer, head, leader):
    stages = [("初审", Role.INFORMATION_OFFICER), ("终审", Role.PUBLICITY_LEADER)]
    make_workflow("简易流程", stages, department=department)
    document = factories.submitted_document(drafter=drafter)

    factories.approve_by(document, officer)
    assert fresh(document).current_stage.name == "终审"
    assert not Document.objects.awaiting(head).exists()
    factories.approve_by(document, leader)

    document = fresh(document)
    assert document.state == Document.State.APPROVED
    assert [r.meaning for r in document.stage_reviews.order_by("stage__position")] == ["初审", "终审"]


def test_it_keeps_a_pieces_workflow_after_the_default_is_replaced(default, drafter, officer, head, leader):
    document = factories.submitted_document(drafter=drafter)
    default.is_active = False
    default.save()
    replacement = make_workflow("两审", [("初审", Role.INFORMATION_OFFICER), ("终审", Role.PUBLICITY_LEADER)])
    services.request_changes(document=document, user=officer, reason="请修改。")

    document = factories.submit(fresh(document))

    assert document.workflow == default
    assert [r.meaning for r in document.stage_reviews.filter(round=2).order_by("stage__position")] == [
        "初审",
        "复审",
        "终审",
    ]
    document = factories.approve_by(document, officer, head, leader)
    assert document.state == Document.State.APPROVED
    assert factories.submitted_document(drafter=drafter).workflow == replacement


def test_it_keeps_the_rounds_stages_when_the_definition_changes(default, drafter, officer, head, leader):
    document = factories.submitted_document(drafter=drafter)
    Stage.objects.create(workflow=default, position=5, name="校对", role=Role.INFORMATION_OFFICER)

    document = factories.approve_by(document, officer, head, leader)

    assert document.state == Document.State.APPROVED


def test_it_refuses_to_submit_with_no_workflow(default, drafter):
    default.is_active = False
    default.save()
    document = factories.make_document(drafter=drafter)

    with pytest.raises(services.Conflict):
        services.submit_document(document=document, user=drafter)
    assert fresh(document).state == Document.State.DRAFT
