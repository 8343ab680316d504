"""Delegation: a reviewer lends their role to a deputy for a range of days.

What the deputy signs is signed on the delegator's behalf (both names on the signature, the audit event and the
sheet); four eyes holds for both; the delegation is set up and revoked with an audit event each, and holds only
on its days.
"""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts import services as accounts
from accounts.models import AuditAction as AccountAction
from accounts.models import Delegation
from audit.models import AuditEvent
from review import notifications, services
from review.models import AuditAction, Document
from review.models.notifications import Event
from tests import factories
from tests.factories import PASSWORD, Role, fresh, last_event, zh
from tests.test_signoff_sheet import pdf_text

pytestmark = pytest.mark.django_db

TODAY = datetime.date.today


@pytest.fixture
def deputy(db):
    """A colleague holding no reviewer's role of their own."""
    return factories.make_user("deputy", display_name="吴芳")


def lend(membership, deputy, *, days=(0, 6), by=None, reason="休假"):
    today = timezone.localdate()
    return accounts.delegate(
        membership=membership, deputy=deputy, reason=reason, by=by or membership.user,
        starts_on=today + datetime.timedelta(days=days[0]), ends_on=today + datetime.timedelta(days=days[1]),
    )  # fmt: skip


def role_of(user, role):
    return user.memberships.get(role=role)


def approve(document, user):
    return services.approve(
        document=document, user=user, password=PASSWORD, opinion="同意。", checklist=factories.answers(document)
    )


@pytest.fixture
def at_final_review(drafter, officer, head, leader):
    return factories.approve_by(factories.submitted_document(drafter=drafter), officer, head)


def test_lending_a_role_is_recorded(leader, deputy):
    delegation = lend(role_of(leader, Role.PUBLICITY_LEADER), deputy)

    stored = Delegation.objects.get(pk=delegation.pk)
    assert (stored.delegator, stored.deputy, stored.group.name) == (leader, deputy, "role:publicity_leader:org")
    assert stored.is_in_force
    event = last_event()
    assert (event.action, event.actor, event.object_id) == (AccountAction.DELEGATED, leader, leader.pk)
    assert event.data == {
        "delegation": delegation.pk, "user": "leader", "role": "publicity_leader", "department": None,
        "deputy": "deputy", "starts_on": stored.starts_on.isoformat(), "ends_on": stored.ends_on.isoformat(),
        "reason": "休假",
    }  # fmt: skip

    accounts.revoke_delegation(delegation=stored, by=leader)

    assert Delegation.objects.get(pk=delegation.pk).revoked_at is not None
    assert not Delegation.objects.in_force().exists()
    assert (last_event().action, last_event().actor) == (AccountAction.DELEGATION_REVOKED, leader)


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("drafter's role", "membership"),
        ("oneself", "deputy"),
        ("ends before it starts", "ends_on"),
        ("over already", "ends_on"),
        ("too long", "ends_on"),
    ],
)
def test_a_delegation_that_cannot_be_is_refused_and_nothing_stored(case, field, drafter, leader, deputy):
    membership, person, days = role_of(leader, Role.PUBLICITY_LEADER), deputy, (0, 6)
    if case == "drafter's role":
        membership = role_of(drafter, Role.DRAFTER)
    elif case == "oneself":
        person = leader
    elif case == "ends before it starts":
        days = (5, 2)
    elif case == "over already":
        days = (-9, -1)
    else:
        days = (0, 93)

    with pytest.raises(ValidationError) as refused:
        lend(membership, person, days=days)

    assert field in refused.value.message_dict
    assert not Delegation.objects.exists()


def test_only_the_holder_or_an_administrator_lends_a_role(leader, head, deputy):
    with pytest.raises(ValidationError):
        lend(role_of(leader, Role.PUBLICITY_LEADER), deputy, by=head)
    admin = factories.make_user("root")
    admin.is_superuser = True
    admin.save()
    assert lend(role_of(leader, Role.PUBLICITY_LEADER), deputy, by=admin).created_by == admin


def test_the_deputy_acts_only_on_the_days_lent(at_final_review, leader, deputy):
    membership = role_of(leader, Role.PUBLICITY_LEADER)
    assert not Document.objects.awaiting(deputy).exists()

    later = lend(membership, deputy, days=(2, 4))
    assert not Document.objects.awaiting(deputy).exists()
    assert not Document.objects.visible_to(deputy).exists()
    accounts.revoke_delegation(delegation=later, by=leader)

    now = lend(membership, deputy)
    assert list(Document.objects.awaiting(deputy)) == [fresh(at_final_review)]
    assert list(Document.objects.visible_to(deputy)) == [fresh(at_final_review)]

    accounts.revoke_delegation(delegation=now, by=deputy)  # the deputy may hand it back
    assert not Document.objects.awaiting(deputy).exists()
    with pytest.raises(services.NotAllowed):
        approve(at_final_review, deputy)


def test_what_the_deputy_signs_is_signed_on_the_delegators_behalf(at_final_review, leader, deputy, client_for):
    lend(role_of(leader, Role.PUBLICITY_LEADER), deputy)
    form = client_for(deputy).get(at_final_review.get_absolute_url()).content.decode()
    assert zh("As a deputy, you sign on behalf of %(name)s; both names go on the signature.", name="陈志强") in form

    approve(at_final_review, deputy)

    document = fresh(at_final_review)
    assert document.state == Document.State.APPROVED
    signature = document.stage_reviews.get(meaning="终审")
    assert (signature.decided_by, signature.signer_name) == (deputy, "吴芳")
    assert (signature.on_behalf_of, signature.on_behalf_of_name) == (leader, "陈志强")
    event = last_event(document)
    assert (event.action, event.actor, event.actor_role) == (AuditAction.APPROVED, deputy, "publicity_leader")
    assert event.data["on_behalf_of"] == {"username": "leader", "name": "陈志强"}
    both = zh("%(name)s (on behalf of %(principal)s)", name="吴芳", principal="陈志强")
    assert both in client_for(deputy).get(document.get_absolute_url()).content.decode()
    sheet = client_for(leader).get(reverse("review:signoff_sheet", args=[document.pk]))
    assert both in pdf_text(sheet).replace("\n", "")


def test_the_delegator_holds_four_eyes_for_what_the_deputy_signed(drafter, deputy, department, head):
    """The officer lends 初审 to a deputy who signs it; the officer, also the department's head, may not sign 复审."""
    officer_and_head = factories.make_user(
        "officer-and-head", display_name="孙两职",
        roles=[(Role.INFORMATION_OFFICER, department), (Role.DEPARTMENT_HEAD, department)],
    )  # fmt: skip
    factories.make_user("officer", display_name="李信", roles=[(Role.INFORMATION_OFFICER, department)])
    lend(role_of(officer_and_head, Role.INFORMATION_OFFICER), deputy)
    document = factories.submitted_document(drafter=drafter)
    approve(document, deputy)

    with pytest.raises(services.NotAllowed) as refused:
        approve(document, officer_and_head)

    assert refused.value.message == zh(
        "You already acted at the %(stage)s stage of this piece; no one acts at two stages.", stage="初审"
    )
    assert not Document.objects.awaiting(officer_and_head).exists()
    assert list(Document.objects.awaiting(head)) == [fresh(document)]


def test_the_deputy_may_not_act_for_a_delegator_barred_by_four_eyes(drafter, officer, department, deputy):
    """The head lends 复审 while away; the head drafted the piece, so their deputy may not review it for them."""
    drafting_head = factories.make_user(
        "drafting-head", display_name="周主任", roles=[(Role.DRAFTER, department), (Role.DEPARTMENT_HEAD, department)]
    )
    lend(role_of(drafting_head, Role.DEPARTMENT_HEAD), deputy)
    document = factories.approve_by(factories.submitted_document(drafter=drafting_head), officer)

    with pytest.raises(services.NotAllowed) as refused:
        approve(document, deputy)

    assert refused.value.message == zh(
        "You act for %(name)s, who drafted this piece; someone else must review it.", name="周主任"
    )
    assert not Document.objects.awaiting(deputy).exists()
    assert fresh(document).current_stage.name == "复审"


def test_a_deputy_who_signed_one_stage_may_not_sign_another(drafter, officer, head, leader):
    """The head is the leader's deputy: having signed 复审, they may not sign 终审 for the leader."""
    lend(role_of(leader, Role.PUBLICITY_LEADER), head)
    document = factories.approve_by(factories.submitted_document(drafter=drafter), officer, head)

    with pytest.raises(services.NotAllowed):
        approve(document, head)

    assert not Document.objects.awaiting(head).exists()
    assert list(Document.objects.awaiting(leader)) == [fresh(document)]


def test_the_deputy_is_told_when_a_piece_reaches_the_stage(at_final_review, leader, deputy, officer):
    lend(role_of(leader, Role.PUBLICITY_LEADER), deputy)

    told = notifications.recipients(
        Event.AWAITING, fresh(at_final_review), officer, fresh(at_final_review).current_stage
    )

    assert sorted(person.username for person in told) == ["deputy", "leader"]


def test_the_page_lends_a_role_keeps_bad_input_and_revokes(client_for, leader, deputy, head):
    client = client_for(leader)
    page = client.get(reverse("delegations"))
    assert page.status_code == 200
    membership = role_of(leader, Role.PUBLICITY_LEADER)
    today = timezone.localdate()
    data = {"membership": membership.pk, "deputy": deputy.pk, "starts_on": today.isoformat(),
            "ends_on": (today - datetime.timedelta(days=1)).isoformat(), "reason": "出差"}  # fmt: skip

    refused = client.post(reverse("delegations"), data)

    assert refused.status_code == 400
    assert zh("The last day comes before the first.") in refused.content.decode()
    assert 'value="出差"' in refused.content.decode()  # what was typed stays
    assert not Delegation.objects.exists()

    data["ends_on"] = (today + datetime.timedelta(days=3)).isoformat()
    assert client.post(reverse("delegations"), data).status_code == 302
    delegation = Delegation.objects.get()
    assert (delegation.deputy, delegation.reason, delegation.ends_on) == (
        deputy,
        "出差",
        today + datetime.timedelta(days=3),
    )
    assert "陈志强" in client_for(deputy).get(reverse("delegations")).content.decode()  # lent to them

    revoke = reverse("delegation_revoke", args=[delegation.pk])
    assert client_for(head).post(revoke).status_code == 404  # not theirs
    assert client.get(revoke).status_code == 405
    assert Delegation.objects.get().revoked_at is None
    assert client.post(revoke).status_code == 302
    assert Delegation.objects.get().revoked_at is not None


def test_the_deputys_navigation_shows_the_queue(client_for, at_final_review, leader, deputy):
    lend(role_of(leader, Role.PUBLICITY_LEADER), deputy)

    page = client_for(deputy).get(reverse("review:queue"))

    assert page.status_code == 200
    assert page.context["queue_count"] == 1
    assert at_final_review.title in page.content.decode()


def test_an_administrator_sets_one_up_in_the_admin_and_a_bad_one_is_explained(leader, deputy):
    root = factories.make_user("root")
    root.is_superuser = root.is_staff = True
    root.save()
    client = Client()
    client.force_login(root)
    today = timezone.localdate()
    data = {"membership": role_of(leader, Role.PUBLICITY_LEADER).pk, "deputy": deputy.pk, "reason": "培训",
            "starts_on": today.isoformat(), "ends_on": (today + datetime.timedelta(days=200)).isoformat()}  # fmt: skip

    refused = client.post(reverse("admin:accounts_delegation_add"), data)

    assert refused.status_code == 200 and not Delegation.objects.exists()
    assert (
        zh("A delegation runs for %(days)s days at most; for longer, give the person the role.", days=92)
        in refused.content.decode()
    )
    data["ends_on"] = (today + datetime.timedelta(days=2)).isoformat()
    assert client.post(reverse("admin:accounts_delegation_add"), data).status_code == 302
    delegation = Delegation.objects.get()
    assert (delegation.delegator, delegation.created_by) == (leader, root)
    assert last_event().action == AccountAction.DELEGATED


def test_a_delegators_account_stopped_ends_what_they_lent(at_final_review, leader, deputy):
    lend(role_of(leader, Role.PUBLICITY_LEADER), deputy)
    leader.is_active = False
    leader.save()

    assert not Delegation.objects.in_force().exists()
    assert not Document.objects.awaiting(deputy).exists()
    with pytest.raises(services.NotAllowed):
        approve(at_final_review, deputy)


def test_removing_the_role_revokes_what_was_lent_of_it_first(leader, deputy):
    root = factories.make_user("root")
    lend(role_of(leader, Role.PUBLICITY_LEADER), deputy)

    accounts.remove_membership(membership=role_of(leader, Role.PUBLICITY_LEADER), by=root)

    assert not Delegation.objects.exists()
    actions = [event.action for event in AuditEvent.objects.order_by("-sequence")[:2]]
    assert actions == [AccountAction.MEMBERSHIP_REMOVED, AccountAction.DELEGATION_REVOKED]


def test_a_deputy_can_be_assigned_the_stage(at_final_review, leader, deputy):
    lend(role_of(leader, Role.PUBLICITY_LEADER), deputy)

    assert deputy in services.reassign_candidates(fresh(at_final_review))
