"""API: tokens, who the caller is, and how requests without valid credentials are answered."""

import pytest
from rest_framework.test import APIClient

from accounts.models import ApiToken, AuditAction, token_digest
from audit.models import AuditEvent
from tests.api import api_client, clean_throttles  # noqa: F401 (an autouse fixture)
from tests.factories import PASSWORD

# The throttles live in the database cache: the database is set up before clean_throttles empties it.
pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
ME = "/api/v1/me/"


def test_it_gives_a_token_for_the_right_password_and_records_the_login(officer):
    response = APIClient().post(TOKEN, {"username": "officer", "password": PASSWORD}, format="json")

    assert response.status_code == 200
    assert list(response.json()) == ["token"]
    assert ApiToken.objects.get(user=officer).digest == token_digest(response.json()["token"])
    event = AuditEvent.objects.order_by("sequence").last()
    assert (event.action, event.actor) == (AuditAction.LOGIN, officer)
    # Asked again, it gives a new token (each one kept only as its hash); the first still works.
    again = APIClient().post(TOKEN, {"username": "officer", "password": PASSWORD}, format="json")
    assert again.status_code == 200
    assert again.json()["token"] != response.json()["token"]
    assert sorted(ApiToken.objects.filter(user=officer).values_list("digest", flat=True)) == sorted(
        token_digest(answer.json()["token"]) for answer in (response, again)
    )
    assert AuditEvent.objects.order_by("sequence").last().action == AuditAction.LOGIN


def test_it_accepts_a_form_encoded_token_request(officer):
    response = APIClient().post(
        TOKEN, f"username=officer&password={PASSWORD}", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 200
    assert ApiToken.objects.get(user=officer).digest == token_digest(response.json()["token"])


def test_it_refuses_a_wrong_password_through_authenticate_and_logs_it(officer):
    before = AuditEvent.objects.count()

    response = APIClient().post(TOKEN, {"username": "officer", "password": "guess"}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["non_field_errors"]
    assert not ApiToken.objects.exists()
    events = list(AuditEvent.objects.filter(sequence__gt=before))
    assert [(e.action, e.data) for e in events] == [(AuditAction.LOGIN_FAILED, {"username": "officer"})]


def test_it_refuses_a_token_to_an_inactive_user(officer):
    officer.is_active = False
    officer.save()

    response = APIClient().post(TOKEN, {"username": "officer", "password": PASSWORD}, format="json")

    assert response.status_code == 400


@pytest.mark.parametrize(
    "body", [{}, {"username": "officer"}, {"password": PASSWORD}, {"username": "", "password": ""}]
)
def test_it_asks_for_both_fields(officer, body):
    response = APIClient().post(TOKEN, body, format="json")

    assert response.status_code == 400
    assert set(response.json()) <= {"username", "password"}


def test_it_throttles_token_requests(db):
    client = APIClient()
    statuses = [
        client.post(TOKEN, {"username": f"nobody{n}", "password": "guess"}, format="json").status_code
        for n in range(11)
    ]

    assert statuses == [400] * 10 + [429]


def test_it_locks_a_user_name_out_after_repeated_failures(officer, settings):
    client = APIClient()
    failures = [
        client.post(TOKEN, {"username": "officer", "password": "guess"}, format="json").status_code
        for _ in range(settings.AXES_FAILURE_LIMIT)
    ]

    locked = client.post(TOKEN, {"username": "officer", "password": PASSWORD}, format="json")

    assert failures == [400] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    assert locked.status_code == 429
    assert locked["Content-Type"] == "application/json"
    assert not ApiToken.objects.exists()


def test_it_refuses_get_on_the_token_endpoint():
    assert APIClient().get(TOKEN).status_code == 405


def test_it_answers_401_without_credentials_and_names_the_token_scheme(db):
    response = APIClient().get(ME)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_it_answers_401_for_an_unknown_token(officer):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    assert client.get(ME).status_code == 401


def test_it_tells_the_caller_who_they_are(officer, leader, other_department, department):
    officer_response = api_client(officer).get(ME)
    leader_response = api_client(leader).get(ME)

    assert officer_response.status_code == 200
    assert officer_response.json() == {
        "username": "officer",
        "display_name": "李信",
        "roles": [{"role": "information_officer", "department": department.pk}],
        "departments": [{"id": department.pk, "name": "公共卫生科", "code": "public-health"}],
    }
    assert leader_response.json() == {
        "username": "leader",
        "display_name": "陈志强",
        "roles": [{"role": "publicity_leader", "department": None}],
        "departments": [],
    }


def test_it_accepts_the_browser_session_for_reading(client_for, officer):
    response = client_for(officer).get(ME)

    assert response.status_code == 200
    assert response.json()["username"] == "officer"


def test_it_checks_csrf_on_session_writes(drafter, department):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(drafter)
    body = {"title": "通知", "body": "<p>正文</p>", "department": department.pk, "channels": ["website"]}

    refused = client.post("/api/v1/documents/", body, format="json")
    client.cookies["csrftoken"] = "k" * 32
    accepted = client.post("/api/v1/documents/", body, format="json", HTTP_X_CSRFTOKEN="k" * 32)

    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert accepted.status_code == 201
