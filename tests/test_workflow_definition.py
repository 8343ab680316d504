"""Rule 1: stages run in order; administrators define workflows per department or kind of piece.

A piece copies its workflow's stages into its own route when it is first submitted, and from then on follows that
copy alone. Whatever administrators do to the definition afterwards (rename a stage, give it to another role,
reorder the stages, swap their roles, add or delete stages, replace or delete the workflow), a piece already
submitted goes on as before: the same people act, in the same order, sign under the same stage name and role, and
hold the same object permissions. Pieces submitted afterwards follow the new definition.
"""

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.services import group_name
from review import services
from review.models import AuditAction, Document, Stage, StageReview, Workflow
from review.permissions import current_grants
from tests import factories
from tests.api import api_client, clean_throttles  # noqa: F401 (an autouse fixture)
from tests.factories import PASSWORD, Role, current_review, fresh, last_event

# The database is set up before the per-test fixtures, and checked after them (tests/conftest.py).
pytestmark = pytest.mark.django_db

CLINIC = [
    (1, "初审", Role.INFORMATION_OFFICER, False),
    (2, "复审", Role.DEPARTMENT_HEAD, False),
    (3, "终审", Role.PUBLICITY_LEADER, False),
    (4, "审定", Role.PRINCIPAL_LEADER, True),
]
# The stages an ordinary (not major) piece passes under the clinic's rule, as (name, acting role).
EVERYDAY_ROUTE = [(name, role) for _position, name, role, major_only in CLINIC if not major_only]


def make_workflow(name, stages, *, department=None, kind="", is_active=True) -> Workflow:
    workflow = Workflow.objects.create(name=name, department=department, kind=kind, is_active=is_active)
    for position, (stage_name, role) in enumerate(stages, start=1):
        Stage.objects.create(workflow=workflow, position=position, name=stage_name, role=role)
    return workflow


def piece(department, kind="news", is_major=False) -> Document:
    return Document(department=department, kind=kind, is_major=is_major)


def definition(workflow: Workflow) -> list[tuple]:
    return [(s.position, s.name, s.role, s.major_only) for s in workflow.stages.order_by("position")]


def route(document: Document) -> list[tuple]:
    return [(s.position, s.name, s.role, s.major_only) for s in document.route.order_by("position")]


def route_checklists(document: Document) -> dict[str, list[tuple]]:
    """Return the questions of each stage of the piece's route, by stage name: (position, part, text)."""
    return {
        stage.name: [(item.position, item.part, item.text) for item in stage.checklist.all()]
        for stage in document.route.prefetch_related("checklist")
    }


def reviewing_groups(document: Document) -> set[str]:
    """Return who holds the permission to act at the piece's current stage."""
    return {holder for codename, holder in current_grants(document) if codename == "review_document"}


def web_queue(client_for, user) -> list[int]:
    return [document.pk for document in client_for(user).get(reverse("review:queue")).context["page"]]


def api_queue(user) -> list[int]:
    return [item["id"] for item in api_client(user).get("/api/v1/queue/").json()["results"]]


@pytest.fixture
def default(db):
    return Workflow.objects.get(name="三审三校")


@pytest.fixture
def admin(client_for):
    """A superuser working in the admin, where workflows are defined."""
    user = factories.make_user("root", display_name="管理员")
    user.is_staff = user.is_superuser = True
    user.save()
    return client_for(user)


# Changing a definition the way administrators do: in the admin, one stage at a time.


def checklist_data(stage: Stage | None) -> dict:
    """Return the admin's inline of a stage's checklist, posted back unchanged (nothing for a new stage)."""
    items = list(stage.checklist.order_by("position", "pk")) if stage else []
    data = {
        "checklist-TOTAL_FORMS": len(items),
        "checklist-INITIAL_FORMS": len(items),
        "checklist-MIN_NUM_FORMS": 0,
        "checklist-MAX_NUM_FORMS": 1000,
    }
    for index, item in enumerate(items):
        data.update(
            {
                f"checklist-{index}-id": item.pk,
                f"checklist-{index}-stage": stage.pk,
                f"checklist-{index}-part": item.part,
                f"checklist-{index}-position": item.position,
                f"checklist-{index}-text": item.text,
            }
        )
    return data


def change_stage(admin, stage: Stage, **changes) -> None:
    data = {
        **checklist_data(stage),
        "workflow": stage.workflow_id,
        "position": stage.position,
        "name": stage.name,
        "proofread_name": stage.proofread_name,
        "role": stage.role,
        "quorum": stage.quorum,
    }
    if stage.major_only:
        data["major_only"] = "on"
    data.update(changes)
    response = admin.post(reverse("admin:review_stage_change", args=[stage.pk]), data)
    assert response.status_code == 302, response.context["adminform"].form.errors


def add_stage(admin, workflow: Workflow, position: int, name: str, role: str) -> None:
    data = {"workflow": workflow.pk, "position": position, "name": name, "role": role, "quorum": 1}
    data.update(checklist_data(None))
    response = admin.post(reverse("admin:review_stage_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors


def delete_stage(admin, stage: Stage) -> None:
    response = admin.post(reverse("admin:review_stage_delete", args=[stage.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Stage.objects.filter(pk=stage.pk).exists()


def stage_named(workflow: Workflow, name: str) -> Stage:
    return workflow.stages.get(name=name)


def rename_and_reassign(admin, workflow):
    change_stage(admin, stage_named(workflow, "初审"), name="一审", role=Role.DEPARTMENT_HEAD)
    change_stage(admin, stage_named(workflow, "终审"), name="签发")


def reorder(admin, workflow):
    first, last = stage_named(workflow, "初审"), stage_named(workflow, "终审")
    change_stage(admin, first, position=9)
    change_stage(admin, last, position=1)
    change_stage(admin, Stage.objects.get(pk=first.pk), position=3)


def swap_roles(admin, workflow):
    change_stage(admin, stage_named(workflow, "初审"), role=Role.PUBLICITY_LEADER)
    change_stage(admin, stage_named(workflow, "终审"), role=Role.INFORMATION_OFFICER)


def delete_stages(admin, workflow):
    delete_stage(admin, stage_named(workflow, "初审"))
    delete_stage(admin, stage_named(workflow, "复审"))


def add_a_stage(admin, workflow):
    add_stage(admin, workflow, 5, "校对", Role.INFORMATION_OFFICER)


DEFINITION_CHANGES = {
    "renamed-and-reassigned": (
        rename_and_reassign,
        [
            (1, "一审", Role.DEPARTMENT_HEAD, False),
            (2, "复审", Role.DEPARTMENT_HEAD, False),
            (3, "签发", Role.PUBLICITY_LEADER, False),
            (4, "审定", Role.PRINCIPAL_LEADER, True),
        ],
    ),
    "reordered": (
        reorder,
        [
            (1, "终审", Role.PUBLICITY_LEADER, False),
            (2, "复审", Role.DEPARTMENT_HEAD, False),
            (3, "初审", Role.INFORMATION_OFFICER, False),
            (4, "审定", Role.PRINCIPAL_LEADER, True),
        ],
    ),
    "roles-swapped": (
        swap_roles,
        [
            (1, "初审", Role.PUBLICITY_LEADER, False),
            (2, "复审", Role.DEPARTMENT_HEAD, False),
            (3, "终审", Role.INFORMATION_OFFICER, False),
            (4, "审定", Role.PRINCIPAL_LEADER, True),
        ],
    ),
    "stages-deleted": (
        delete_stages,
        [
            (3, "终审", Role.PUBLICITY_LEADER, False),
            (4, "审定", Role.PRINCIPAL_LEADER, True),
        ],
    ),
    "stage-added": (add_a_stage, [*CLINIC, (5, "校对", Role.INFORMATION_OFFICER, False)]),
}


def sign_off_along_the_clinics_route(client_for, document, reviewers, department, *, seen_before=()) -> Document:
    """Take the piece through 初审, 复审 and 终审 as its route has them, alternately on the web and through the API.

    At each stage only that stage's reviewer has the piece in their queue and may act (the others are refused:
    those who acted before, in this round or in `seen_before` rounds, see the piece and get 403, those still to
    come do not see it and get 404), only the route's role group holds the permission to act, and the signature
    and its audit event carry the route's stage name and role.
    """
    for step, ((name, role), reviewer) in enumerate(zip(EVERYDAY_ROUTE, reviewers, strict=True)):
        document = fresh(document)
        review = current_review(document)
        stage = document.current_stage
        assert (document.state, stage.name, stage.role) == (Document.State.IN_REVIEW, name, role)
        assert reviewing_groups(document) == {group_name(role, department.pk)}
        assert web_queue(client_for, reviewer) == [document.pk]
        assert api_queue(reviewer) == [document.pk]
        for other in reviewers:
            if other == reviewer:
                continue
            assert web_queue(client_for, other) == []
            response = client_for(other).post(
                reverse("review:document_approve", args=[document.pk]),
                {"password": PASSWORD, "review": review.pk, **factories.checklist_form(document)},
            )
            # Those it reached see it, and the department's head sees every piece of the department in review.
            heads = other.memberships.filter(role=Role.DEPARTMENT_HEAD, department=department).exists()
            seen = other in reviewers[:step] or other in seen_before or heads
            assert response.status_code == (403 if seen else 404)

        if step % 2 == 0:
            response = client_for(reviewer).post(
                reverse("review:document_approve", args=[document.pk]),
                {"password": PASSWORD, "review": review.pk, "opinion": "同意。", **factories.checklist_form(document)},
            )
            assert response.status_code == 302
        else:
            response = api_client(reviewer).post(
                f"/api/v1/documents/{document.pk}/approve/",
                {
                    "password": PASSWORD,
                    "review": review.pk,
                    "opinion": "同意。",
                    "checklist": factories.answers(document),
                },
                format="json",
            )
            assert response.status_code == 200
            assert (name, role) in [(s["meaning"], s["signer_role"]) for s in response.json()["signatures"]]

        review.refresh_from_db()
        assert (review.decision, review.decided_by, review.meaning, review.signer_role) == (
            StageReview.Decision.APPROVED,
            reviewer,
            name,
            role,
        )
        event = last_event(document)
        assert (event.action, event.actor, event.actor_role, event.data["stage"]) == (
            AuditAction.APPROVED,
            reviewer,
            role,
            name,
        )
    document = fresh(document)
    assert document.state == Document.State.APPROVED
    assert reviewing_groups(document) == set()
    assert ("publish_document", group_name(Role.PUBLISHER, None)) in current_grants(document)
    return document


def test_it_starts_with_the_clinics_rule(default):
    assert (default.is_active, default.department, default.kind) == (True, None, "")
    assert definition(default) == CLINIC


def test_it_includes_the_principal_leaders_stage_only_for_major_matters(default, drafter):
    ordinary = factories.submitted_document(drafter=drafter)
    major = factories.submitted_document(drafter=drafter, is_major=True)

    # Each piece copies every stage, the major-only one too, and passes those that apply to it.
    assert route(ordinary) == route(major) == CLINIC
    assert [s.name for s in ordinary.applicable_route()] == ["初审", "复审", "终审"]
    assert [s.name for s in major.applicable_route()] == ["初审", "复审", "终审", "审定"]
    assert [r.meaning for r in ordinary.stage_reviews.order_by("stage__position")] == ["初审", "复审", "终审"]
    assert [r.meaning for r in major.stage_reviews.order_by("stage__position")] == ["初审", "复审", "终审", "审定"]


def test_it_copies_the_route_only_once_submitted(default, drafter):
    document = factories.make_document(drafter=drafter)

    assert route(document) == []
    assert document.workflow is None
    factories.submit(document)

    document = fresh(document)
    assert route(document) == CLINIC
    assert document.workflow == default
    assert {review.stage.document_id for review in document.stage_reviews.select_related("stage")} == {document.pk}
    assert Stage.objects.filter(workflow=default).count() == 4  # the definition itself is untouched


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


@pytest.mark.parametrize("change", list(DEFINITION_CHANGES))
def test_a_piece_in_flight_keeps_its_own_route_when_the_definition_changes(
    change, admin, default, client_for, department, drafter, officer, head, leader, publisher
):
    document = factories.submitted_document(drafter=drafter)
    grants = current_grants(document)
    checklists = route_checklists(document)
    edit, new_definition = DEFINITION_CHANGES[change]

    edit(admin, default)

    assert definition(default) == new_definition
    document = fresh(document)
    assert route(document) == CLINIC
    # The piece's checklists are its own copies too (a deleted stage takes only the definition's questions).
    assert route_checklists(document) == checklists
    assert [len(checklists[name]) for name in ("初审", "复审", "终审", "审定")] == [10, 10, 10, 6]
    assert current_grants(document) == grants
    document = sign_off_along_the_clinics_route(client_for, document, [officer, head, leader], department)
    signatures = document.stage_reviews.order_by("stage__position")
    assert [(s.meaning, s.signer_role, s.decided_by) for s in signatures] == [
        ("初审", Role.INFORMATION_OFFICER, officer),
        ("复审", Role.DEPARTMENT_HEAD, head),
        ("终审", Role.PUBLICITY_LEADER, leader),
    ]
    published_at = f"{timezone.localtime():%Y-%m-%dT%H:%M}"
    response = client_for(publisher).post(
        reverse("review:document_publish", args=[document.pk]), {"channel": "website", "published_at": published_at}
    )
    assert response.status_code == 302
    assert fresh(document).state == Document.State.PUBLISHED

    # A piece submitted now follows the new definition.
    newcomer = factories.submitted_document(drafter=drafter)
    assert route(newcomer) == new_definition
    first_role = new_definition[0][2]
    holders = {Role.INFORMATION_OFFICER: officer, Role.DEPARTMENT_HEAD: head, Role.PUBLICITY_LEADER: leader}
    assert reviewing_groups(newcomer) == {group_name(first_role, department.pk)}
    assert [api_queue(person) for person in (officer, head, leader)] == [
        [newcomer.pk] if person == holders[first_role] else [] for person in (officer, head, leader)
    ]
    # ...while the first piece's route is still its own.
    assert route(document) == CLINIC


def test_a_returned_piece_goes_round_again_along_its_own_route(
    admin, default, client_for, department, drafter, officer, head, leader
):
    document = factories.approve_by(factories.submitted_document(drafter=drafter), officer)
    first_round = list(document.stage_reviews.order_by("stage__position").values_list("stage_id", flat=True))
    swap_roles(admin, default)
    default.is_active = False
    default.save()
    replacement = make_workflow("两审", [("初审", Role.INFORMATION_OFFICER), ("终审", Role.PUBLICITY_LEADER)])
    services.return_for_changes(document=document, user=head, reason="请修改。")

    response = client_for(drafter).post(reverse("review:document_submit", args=[document.pk]), {"note": "已修改。"})

    assert response.status_code == 302
    document = fresh(document)
    assert (document.round, document.workflow) == (2, default)
    assert route(document) == CLINIC
    # The second round runs the very same stages of the piece's route, none of the replacement's.
    second_round = document.stage_reviews.filter(round=2).order_by("stage__position")
    assert [r.stage_id for r in second_round] == first_round
    assert [r.meaning for r in second_round] == ["初审", "复审", "终审"]
    assert last_event(document).data == {"round": 2, "stage": "初审", "stages": ["初审", "复审", "终审"]}
    sign_off_along_the_clinics_route(client_for, document, [officer, head, leader], department, seen_before=[head])
    assert factories.submitted_document(drafter=drafter).workflow == replacement


def test_a_piece_made_major_later_takes_the_major_stage_it_copied(
    admin, default, client_for, drafter, officer, head, leader, principal
):
    document = factories.submitted_document(drafter=drafter)
    delete_stage(admin, stage_named(default, "审定"))
    services.return_for_changes(document=document, user=officer, reason="这是重大事项。")
    data = {
        "title": document.title,
        "department": document.department_id,
        "kind": document.kind,
        "channels": document.channels,
        "body": document.body,
        "is_major": "on",
        "submit": "1",
        "note": "定为重大事项。",
    }

    response = client_for(drafter).post(reverse("review:document_edit", args=[document.pk]), data)

    assert response.status_code == 302
    document = fresh(document)
    assert (document.state, document.is_major, document.round) == (Document.State.IN_REVIEW, True, 2)
    assert [r.meaning for r in document.stage_reviews.filter(round=2).order_by("stage__position")] == [
        "初审",
        "复审",
        "终审",
        "审定",
    ]
    document = factories.approve_by(document, officer, head, leader)
    assert (document.state, document.current_stage.name, document.current_stage.role) == (
        Document.State.IN_REVIEW,
        "审定",
        Role.PRINCIPAL_LEADER,
    )
    assert api_queue(principal) == [document.pk]
    response = api_client(principal).post(
        f"/api/v1/documents/{document.pk}/approve/",
        {
            "password": PASSWORD,
            "review": current_review(document).pk,
            "opinion": "同意。",
            "checklist": factories.answers(document),
        },
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["state"] == Document.State.APPROVED
    signature = fresh(document).stage_reviews.get(round=2, meaning="审定")
    assert (signature.decided_by, signature.signer_role) == (principal, Role.PRINCIPAL_LEADER)


def test_a_piece_in_flight_outlives_its_deleted_workflow(
    admin, default, client_for, department, drafter, officer, head, leader
):
    document = factories.submitted_document(drafter=drafter)
    services.return_for_changes(document=document, user=officer, reason="请修改。")

    response = admin.post(reverse("admin:review_workflow_delete", args=[default.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not Workflow.objects.exclude(kind="bulletin").exists()  # the bulletin's own workflow stays
    assert not Stage.objects.filter(workflow_id=default.pk).exists()
    document = fresh(document)
    assert document.workflow is None
    assert route(document) == CLINIC
    # Resubmitted with no workflow left, it runs along its own route again.
    resubmitted = client_for(drafter).post(reverse("review:document_submit", args=[document.pk]), {"note": "已修改。"})
    assert resubmitted.status_code == 302
    document = fresh(document)
    assert (document.state, document.round, document.current_stage.name) == (Document.State.IN_REVIEW, 2, "初审")
    sign_off_along_the_clinics_route(client_for, document, [officer, head, leader], department)
    # A new piece has no workflow to copy.
    with pytest.raises(services.Conflict):
        factories.submitted_document(drafter=drafter)


def test_it_refuses_to_submit_with_no_workflow(default, drafter):
    default.is_active = False
    default.save()
    document = factories.make_document(drafter=drafter)

    with pytest.raises(services.Conflict):
        services.submit_document(document=document, user=drafter)
    document = fresh(document)
    assert document.state == Document.State.DRAFT
    assert route(document) == []
