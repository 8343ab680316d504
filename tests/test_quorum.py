"""Quorum stages: a stage may need several people's approval (any N of those holding its role, or all of them).

Each signs with their own signature; the last one needed moves the piece on; nobody signs twice at a stage, and
four eyes holds across the stage and the others. The piece copies the quorum with its route.
"""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.services import group_name
from audit.labels import Action as LogAction
from audit.models import AuditEvent
from review import deadlines, permissions, services
from review.models import AuditAction, Document, Stage, StageReview
from tests import factories
from tests.api import api_client
from tests.factories import PASSWORD, Role, fresh, last_event, zh
from tests.test_signoff_sheet import pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_of_three(leader):
    """The final review (终审) needs two of the three publicity leaders."""
    Stage.objects.filter(name="终审").update(quorum=2)
    return [
        leader,
        factories.make_user("leader2", display_name="吴芳", roles=[(Role.PUBLICITY_LEADER, None)]),
        factories.make_user("leader3", display_name="郑伟", roles=[(Role.PUBLICITY_LEADER, None)]),
    ]


@pytest.fixture
def at_final_review(drafter, officer, head, two_of_three):
    document = factories.submitted_document(drafter=drafter)
    return factories.approve_by(document, officer, head)


def approve(document, user, opinion="同意。"):
    return services.approve(
        document=document, user=user, password=PASSWORD, opinion=opinion, checklist=factories.answers(document)
    )


def signatures_at_final_review(document) -> list[tuple[str, str, bool]]:
    reviews = fresh(document).stage_reviews.filter(meaning="终审", round=fresh(document).round)
    return [(review.decision, review.signer_name, review.cosignature) for review in reviews]


def test_the_first_of_two_signatures_keeps_the_piece_at_the_stage(at_final_review, two_of_three):
    first, second, _third = two_of_three

    approve(at_final_review, first, "同意，请再请一位领导签。")

    document = fresh(at_final_review)
    assert (document.state, document.current_stage.name) == (Document.State.IN_REVIEW, "终审")
    assert signatures_at_final_review(document) == [("approved", "陈志强", True), ("pending", "", False)]
    signature = document.stage_reviews.get(cosignature=True)
    assert (signature.revision, signature.answers.count()) == (document.current_revision, 10)
    event = last_event(document)
    assert (event.action, event.actor, event.from_state, event.to_state) == (
        AuditAction.APPROVED, first, "in_review", "in_review",
    )  # fmt: skip
    assert event.comment == "同意，请再请一位领导签。"
    assert event.data["signatures"] == {"signed": 1, "needed": 2}
    assert event.data["stage_review"] == signature.pk
    # The first signer's queue no longer holds it; the other leaders' queues do.
    assert not Document.objects.awaiting(first).filter(pk=document.pk).exists()
    assert Document.objects.awaiting(second).filter(pk=document.pk).exists()
    assert document.signatures_at_stage() == (1, 2)


def test_the_second_signature_completes_the_stage(at_final_review, two_of_three):
    first, second, third = two_of_three
    approve(at_final_review, first)

    approve(at_final_review, second)

    document = fresh(at_final_review)
    assert (document.state, document.current_stage) == (Document.State.APPROVED, None)
    assert signatures_at_final_review(document) == [("approved", "陈志强", True), ("approved", "吴芳", False)]
    event = last_event(document)
    assert (event.action, event.actor, event.from_state, event.to_state) == (
        AuditAction.APPROVED, second, "in_review", "approved",
    )  # fmt: skip
    assert event.data["signatures"] == {"signed": 2, "needed": 2}
    assert not Document.objects.awaiting(third).filter(pk=document.pk).exists()
    # Both signatures are on the record: the API's signatures and the register's signers.
    signatures = api_client(first).get(f"/api/v1/documents/{document.pk}/").json()["signatures"]
    assert [(s["meaning"], s["signer_name"]) for s in signatures][-2:] == [("终审", "陈志强"), ("终审", "吴芳")]


def test_nobody_signs_twice_at_a_stage(at_final_review, two_of_three):
    first = two_of_three[0]
    approve(at_final_review, first)
    events = last_event(at_final_review).sequence

    with pytest.raises(services.NotAllowed) as refused:
        approve(at_final_review, first)
    with pytest.raises(services.NotAllowed):
        services.return_for_changes(document=at_final_review, user=first, reason="再看看。")

    assert str(refused.value.message) == zh(
        "You have signed at this stage already; it needs the signatures of others holding the role."
    )
    assert signatures_at_final_review(at_final_review) == [("approved", "陈志强", True), ("pending", "", False)]
    refusals = AuditEvent.objects.filter(sequence__gt=events)  # nothing but the refusals was written
    assert [(event.action, event.data["attempted"]) for event in refusals] == [
        (LogAction.REFUSED, "approve"), (LogAction.REFUSED, "return"),
    ]  # fmt: skip


def test_four_eyes_holds_across_the_stage(drafter, officer, two_of_three):
    """The department head who signed 复审 and also holds a leader's role may not co-sign 终审."""
    head_and_leader = factories.make_user(
        "head-leader",
        display_name="孙两职",
        roles=[(Role.DEPARTMENT_HEAD, officer.memberships.get().department), (Role.PUBLICITY_LEADER, None)],
    )
    document = factories.approve_by(factories.submitted_document(drafter=drafter), officer, head_and_leader)

    with pytest.raises(services.NotAllowed):
        approve(document, head_and_leader)

    assert not Document.objects.awaiting(head_and_leader).filter(pk=document.pk).exists()
    assert signatures_at_final_review(document) == [("pending", "", False)]


def test_a_return_by_another_holder_ends_the_round_and_the_next_round_needs_all_signatures_again(
    at_final_review, two_of_three, officer, head
):
    first, second, third = two_of_three
    approve(at_final_review, first)

    services.return_for_changes(document=at_final_review, user=second, reason="数据需要核实。")

    document = fresh(at_final_review)
    assert document.state == Document.State.RETURNED
    # The round is over, the co-signature kept in its history.
    assert signatures_at_final_review(document) == [("approved", "陈志强", True), ("returned", "吴芳", False)]

    document = factories.approve_by(factories.submit(document), officer, head)
    assert fresh(document).current_stage.name == "终审"
    assert fresh(document).signatures_at_stage() == (0, 2)
    approve(document, first)  # signing again in a new round is signing the new round
    approve(document, third)
    assert fresh(document).state == Document.State.APPROVED


def test_quorum_zero_needs_everyone_holding_the_role(drafter, officer, head, two_of_three):
    Stage.objects.filter(name="终审").update(quorum=0)
    document = factories.approve_by(factories.submitted_document(drafter=drafter), officer, head)
    assert document.route.get(name="终审").quorum == 0

    assert fresh(document).signatures_at_stage() == (0, 3)
    approve(document, two_of_three[0])
    approve(document, two_of_three[1])
    assert fresh(document).state == Document.State.IN_REVIEW
    approve(document, two_of_three[2])
    assert fresh(document).state == Document.State.APPROVED


def test_a_piece_in_flight_keeps_the_quorum_it_copied(at_final_review, two_of_three):
    Stage.objects.filter(name="终审").update(quorum=3)

    approve(at_final_review, two_of_three[0])
    approve(at_final_review, two_of_three[1])

    assert fresh(at_final_review).state == Document.State.APPROVED


def test_the_api_says_how_many_signatures_are_needed_and_given(at_final_review, two_of_three):
    first, second, _third = two_of_three
    approve(at_final_review, first)

    current = api_client(second).get(f"/api/v1/documents/{at_final_review.pk}/").json()["current_review"]

    assert (current["stage"], current["signatures_needed"], current["signatures_given"]) == ("终审", 2, 1)


def test_the_page_says_how_many_signatures_are_needed_and_given(at_final_review, two_of_three, client_for):
    first, second, _third = two_of_three
    client = client_for(first)
    data = {"review": factories.current_review(at_final_review).pk, "opinion": "同意。", "password": PASSWORD,
            **factories.checklist_form(at_final_review)}  # fmt: skip

    response = client.post(reverse("review:document_approve", args=[at_final_review.pk]), data, follow=True)

    page = response.content.decode()
    assert zh("Signed. %(stage)s needs %(needed)s signatures; %(signed)s given so far.", stage="终审", needed=2,
              signed=1) in page  # fmt: skip
    other = client_for(second).get(at_final_review.get_absolute_url()).content.decode()
    assert zh("needs %(needed)s signatures, %(signed)s given", needed=2, signed=1) in other
    assert 'name="password"' in other  # the second leader signs on the same page


def test_the_sign_off_sheet_carries_every_signature_of_the_stage(at_final_review, two_of_three, client_for):
    approve(at_final_review, two_of_three[0])
    approve(at_final_review, two_of_three[1])

    response = client_for(two_of_three[0]).get(reverse("review:signoff_sheet", args=[at_final_review.pk]))

    text = pdf_text(response)
    assert text.count("终审\n终校\n审核通过 陈志强") == 1
    assert text.count("终审\n终校\n审核通过 吴芳") == 1


def test_no_correction_once_someone_has_signed_at_the_stage(at_final_review, two_of_three):
    """A correction after a first signature would change the text that signature covers."""
    first, second, _third = two_of_three
    approve(at_final_review, first)
    text_before = fresh(at_final_review).current_revision

    with pytest.raises(services.Conflict):
        services.correct_document(
            document=at_final_review,
            user=second,
            title=at_final_review.title,
            body="<div>改过的正文</div>",
            note="改字",
        )

    assert fresh(at_final_review).current_revision == text_before
    assert last_event(at_final_review).data["attempted"] == "correct"


def test_a_quorum_larger_than_those_who_may_sign_asks_only_for_them(at_final_review, two_of_three):
    """Five signatures asked of three leaders: all three suffice, so the stage cannot wait for ever."""
    Stage.objects.filter(name="终审").update(quorum=5)
    document = factories.approve_by(
        factories.submitted_document(drafter=at_final_review.drafter),
        *[review.decided_by for review in fresh(at_final_review).stage_reviews.filter(decision="approved")],
    )

    assert document.signatures_at_stage() == (0, 3)


def test_an_overdue_quorum_stage_escalates_after_a_first_signature(at_final_review, two_of_three):
    """The escalated role gets to see the piece, whichever rows the stage holds."""
    approve(at_final_review, two_of_three[0])
    pending = fresh(at_final_review).stage_reviews.get(meaning="终审", cosignature=False)
    StageReview.objects.filter(pk=pending.pk).update(due_at=timezone.now() - datetime.timedelta(hours=1))

    assert deadlines.send_reminders()[1] == 1

    grants = permissions.current_grants(fresh(at_final_review))
    assert ("view_document", group_name(pending.stage.escalate_to, at_final_review.department_id)) in grants
    assert grants == permissions.expected_grants(fresh(at_final_review))
