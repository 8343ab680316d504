"""The admin cannot go around the rules: roles come only through memberships, and every change made there is an
audit event naming who made it."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import translation

from accounts.models import ApiToken, AuditAction, Department, User
from accounts.services import role_group
from accounts.tokens import issue_token
from audit.labels import Action
from audit.models import AuditEvent
from review.admin import WorkflowAdmin
from review.models import Stage, Webhook, Workflow
from tests import factories
from tests.factories import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(db):
    user = factories.make_user("root", display_name="管理员")
    user.is_staff = user.is_superuser = True
    user.save()
    return user


@pytest.fixture
def admin(client_for, admin_user):
    return client_for(admin_user)


def form_data(response) -> dict:
    """Return what the admin's change form would post back unchanged, inlines included."""
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context.get("inline_admin_formsets", []):
        formset = inline.formset
        data.update({f"{formset.prefix}-{key}": value for key, value in formset.management_form.initial.items()})
        forms += list(formset.forms)
    for form in forms:
        for name, field in form.fields.items():
            if field.disabled:
                continue
            value = form.initial.get(name, field.initial)
            if isinstance(value, list | tuple):
                value = [getattr(item, "pk", item) for item in value]
            elif value is None:
                value = ""
            elif hasattr(value, "pk"):
                value = value.pk
            elif value is False:
                continue  # an unticked checkbox is not posted
            elif value is True:
                value = "on"
            data[form.add_prefix(name)] = value
    return data


def last_event() -> AuditEvent:
    return AuditEvent.objects.order_by("sequence").last()


def test_deactivating_a_user_is_recorded_with_who_did_it(admin, admin_user, officer):
    url = reverse("admin:accounts_user_change", args=[officer.pk])
    data = form_data(admin.get(url))
    data.pop("is_active", None)

    response = admin.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    assert not User.objects.get(pk=officer.pk).is_active
    event = last_event()
    assert (event.action, event.actor, event.object_type, event.object_id) == (
        Action.ADMIN_CHANGED,
        admin_user,
        "accounts.user",
        officer.pk,
    )
    assert event.data["values"]["is_active"] is False
    assert event.data["change"] == [{"changed": {"fields": ["Active"]}}]


def test_a_password_set_in_the_admin_is_recorded_without_the_password(admin, admin_user, officer):
    url = reverse("admin:auth_user_password_change", args=[officer.pk])
    new_password = "A-new-password-for-2027"

    response = admin.post(url, {"password1": new_password, "password2": new_password, "usable_password": "true"})

    assert response.status_code == 302
    officer.refresh_from_db()
    assert officer.check_password(new_password)
    event = last_event()
    assert (event.action, event.actor, event.object_id) == (Action.ADMIN_CHANGED, admin_user, officer.pk)
    assert new_password not in event.canonical()


def test_roles_cannot_be_given_through_groups_in_the_user_form(admin, officer, department):
    url = reverse("admin:accounts_user_change", args=[officer.pk])
    page = admin.get(url)
    assert "groups" not in page.context["adminform"].form.fields
    assert "user_permissions" not in page.context["adminform"].form.fields
    head_group = role_group(Role.DEPARTMENT_HEAD, department.pk)

    data = {**form_data(page), "groups": [head_group.pk]}
    admin.post(url, data)

    assert not officer.groups.filter(pk=head_group.pk).exists()
    assert officer.groups.filter(name__startswith="role:").count() == 1


def test_the_group_admin_is_not_offered(admin):
    assert admin.get("/admin/auth/group/").status_code == 404
    assert Group._meta.label_lower not in admin.get("/admin/").content.decode()


def test_a_department_added_in_the_admin_is_recorded(admin, admin_user):
    response = admin.post(reverse("admin:accounts_department_add"), {"name": "预防保健科", "code": "prevention"})

    assert response.status_code == 302
    department = Department.objects.get(code="prevention")
    event = last_event()
    assert (event.action, event.actor, event.object_type, event.object_id) == (
        Action.ADMIN_ADDED,
        admin_user,
        "accounts.department",
        department.pk,
    )
    assert event.data["values"] == {"name": "预防保健科", "code": "prevention"}


def test_a_workflow_change_records_its_stages_and_the_page_says_pieces_in_flight_keep_theirs(admin, admin_user):
    workflow = Workflow.objects.get(name="三审三校")
    url = reverse("admin:review_workflow_change", args=[workflow.pk])
    page = admin.get(url)
    with translation.override("zh-hans"):
        note = str(WorkflowAdmin.fieldsets[0][1]["description"])
    assert note in page.content.decode()
    data = form_data(page)
    second = next(key for key, value in data.items() if key.endswith("-position") and value == 2)
    data[second.replace("-position", "-role")] = Role.PUBLICITY_LEADER

    response = admin.post(url, data)

    assert response.status_code == 302
    assert Stage.objects.get(workflow=workflow, position=2).role == Role.PUBLICITY_LEADER
    event = last_event()
    assert (event.action, event.actor, event.object_type) == (Action.ADMIN_CHANGED, admin_user, "review.workflow")
    stage = [2, "复审", "复校", Role.PUBLICITY_LEADER, 1, False, 8, 4, "publicity_leader", [], [], []]
    assert stage in event.data["values"]["stages"]


def test_a_stage_edited_on_its_own_is_recorded(admin, admin_user):
    stage = Stage.objects.get(workflow__name="三审三校", position=1)
    url = reverse("admin:review_stage_change", args=[stage.pk])
    data = {**form_data(admin.get(url)), "name": "一审"}

    assert admin.post(url, data).status_code == 302

    event = last_event()
    assert (event.action, event.object_type, event.object_id) == (Action.ADMIN_CHANGED, "review.stage", stage.pk)
    assert event.data["values"]["name"] == "一审"


def test_a_webhook_change_is_recorded_without_its_secret(admin, admin_user):
    webhook = Webhook.objects.create(url="https://example.org/hook", events=["published"])
    url = reverse("admin:review_webhook_change", args=[webhook.pk])
    data = {**form_data(admin.get(url)), "events": ["published", "approved"]}

    assert admin.post(url, data).status_code == 302

    event = last_event()
    assert (event.action, event.object_type) == (Action.ADMIN_CHANGED, "review.webhook")
    assert event.data["values"] == {
        "url": "https://example.org/hook",
        "events": ["published", "approved"],
        "is_active": True,
    }
    assert webhook.secret not in event.canonical()


def test_revoking_a_token_is_recorded(admin, admin_user, officer):
    issue_token(officer)
    token = ApiToken.objects.get(user=officer)
    url = reverse("admin:accounts_apitoken_delete", args=[token.pk])

    assert admin.post(url, {"post": "yes"}).status_code == 302

    assert not ApiToken.objects.exists()
    event = last_event()
    assert (event.action, event.actor, event.object_type) == (Action.ADMIN_DELETED, admin_user, "accounts.apitoken")


def test_a_role_given_in_the_admin_goes_through_the_membership_service(admin, admin_user, department):
    person = factories.make_user("newcomer")

    response = admin.post(
        reverse("admin:accounts_membership_add"),
        {"user": person.pk, "role": Role.INFORMATION_OFFICER, "department": department.pk},
    )

    assert response.status_code == 302
    assert person.groups.filter(name=f"role:information_officer:{department.pk}").exists()
    event = last_event()
    assert (event.action, event.actor, event.scope) == (AuditAction.MEMBERSHIP_ADDED, admin_user, str(department.pk))
