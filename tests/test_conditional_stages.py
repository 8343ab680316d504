"""Conditional stages beyond "major matter": a stage may apply only to some kinds of piece, some channels or some
departments. The piece copies the conditions with its route, so changing them later changes no piece in flight."""

import pytest

from review.admin import StageForm
from review.models import Stage
from tests import factories
from tests.factories import fresh

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic():
    return Stage.objects.get(name="终审", workflow__kind="").workflow


def add_stage(workflow, name, **conditions) -> Stage:
    last = workflow.stages.order_by("-position").first()
    return Stage.objects.create(
        workflow=workflow, position=last.position + 1, name=name, role="principal_leader", **conditions
    )


def route(document) -> list[str]:
    return [review.meaning for review in fresh(document).stage_reviews.order_by("stage__position")]


def test_a_stage_for_some_kinds_only(clinic, drafter):
    add_stage(clinic, "政策审定", only_kinds=["policy"])

    news = factories.submitted_document(drafter=drafter, kind="news")
    policy = factories.submitted_document(drafter=drafter, kind="policy")

    assert route(news) == ["初审", "复审", "终审"]
    assert route(policy) == ["初审", "复审", "终审", "政策审定"]


def test_a_stage_for_some_channels_only(clinic, drafter):
    add_stage(clinic, "微博审定", only_channels=["weibo", "qq"])

    website = factories.submitted_document(drafter=drafter, channels=["website"])
    weibo = factories.submitted_document(drafter=drafter, channels=["website", "weibo"])

    assert route(website) == ["初审", "复审", "终审"]
    assert route(weibo) == ["初审", "复审", "终审", "微博审定"]


def test_a_stage_for_some_departments_only(clinic, drafter, department, other_department):
    add_stage(clinic, "科室审定", only_departments=[other_department.pk])
    elsewhere = factories.make_user("other-drafter", roles=[("drafter", other_department)])

    assert route(factories.submitted_document(drafter=drafter, department=department)) == ["初审", "复审", "终审"]
    assert route(factories.submitted_document(drafter=elsewhere, department=other_department)) == [
        "初审", "复审", "终审", "科室审定",
    ]  # fmt: skip


def test_conditions_combine_with_the_major_flag(clinic, drafter):
    add_stage(clinic, "重大政策审定", major_only=True, only_kinds=["policy"])

    assert "重大政策审定" not in route(factories.submitted_document(drafter=drafter, kind="policy"))
    assert "重大政策审定" in route(factories.submitted_document(drafter=drafter, kind="policy", is_major=True))


def test_a_piece_in_flight_keeps_the_conditions_it_copied(clinic, drafter, officer):
    stage = add_stage(clinic, "政策审定", only_kinds=["policy"])
    document = factories.submitted_document(drafter=drafter, kind="news")
    stage.only_kinds = []
    stage.save()

    assert fresh(document).route.get(name="政策审定").only_kinds == ["policy"]
    assert route(document) == ["初审", "复审", "终审"]


def test_the_admin_ticks_kinds_channels_and_departments(clinic, department):
    stage = clinic.stages.get(name="初审")
    data = {
        "workflow": clinic.pk, "position": 9, "name": "测试", "proofread_name": "", "role": "department_head",
        "quorum": 1, "only_kinds": ["policy", "notice"], "only_channels": ["weibo"],
        "only_departments": [str(department.pk)], "time_limit": "", "urgent_time_limit": "", "escalate_to": "",
    }  # fmt: skip

    form = StageForm(data, instance=Stage(workflow=clinic))
    bad = StageForm({**data, "only_kinds": ["nonsense"]}, instance=stage)
    no_such_department = StageForm({**data, "only_departments": ["999999"]}, instance=stage)

    assert form.is_valid(), form.errors
    saved = form.save()
    assert (fresh_stage := Stage.objects.get(pk=saved.pk)).only_kinds == ["policy", "notice"]
    assert fresh_stage.only_channels == ["weibo"]
    assert fresh_stage.only_departments == [department.pk]
    assert not bad.is_valid() and "only_kinds" in bad.errors
    assert not no_such_department.is_valid() and "only_departments" in no_such_department.errors
