"""Logging in and staying logged in: throttling, lockout, session lifetimes, logout, deactivation, CSP."""

import re
import time

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from accounts.models import AuditAction
from audit.models import AuditEvent
from config import settings as project
from tests import factories
from tests.factories import PASSWORD

LOGIN = "/accounts/login/"


def log_in(client, username, password):
    return client.post(LOGIN, {"username": username, "password": password})


def test_it_logs_in_with_a_new_session_id(db):
    factories.make_user("officer")
    client = Client()
    client.get(LOGIN)
    client.cookies["sessionid"] = "anonymous-session-id"

    response = log_in(client, "officer", PASSWORD)

    assert response.status_code == 302
    assert client.cookies["sessionid"].value not in ("", "anonymous-session-id")
    assert AuditEvent.objects.latest("sequence").action == AuditAction.LOGIN


def test_it_locks_an_account_after_repeated_failures(db):
    factories.make_user("officer")
    client = Client()
    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        response = log_in(client, "officer", "wrong")
        assert response.status_code == 200  # the form again, with its error

    response = log_in(client, "officer", "wrong")
    assert response.status_code == 429
    response = log_in(client, "officer", PASSWORD)  # even the right password, for a while

    assert response.status_code == 429
    assert "Too many failed attempts" in response.content.decode() or "失败次数过多" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # The failures are in the log, the one that reaches the limit as the lockout itself, once; attempts refused
    # while locked out (even with the right password) are not.
    events = list(AuditEvent.objects.order_by("sequence").values_list("action", "data"))
    assert events == [(AuditAction.LOGIN_FAILED, {"username": "officer"})] * (settings.AXES_FAILURE_LIMIT - 1) + [
        (AuditAction.LOCKED_OUT, {"username": "officer"})
    ]


def test_it_counts_a_wrong_signature_password_toward_lockout(client_for, drafter, officer):
    document = factories.submitted_document(drafter=drafter)
    client = client_for(officer)
    url = reverse("review:document_approve", args=[document.pk])
    answers = factories.checklist_form(document)  # the password is checked once every question is answered
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post(url, {"opinion": "同意", "password": "wrong", **answers})

    response = client.post(url, {"opinion": "同意", "password": PASSWORD, **answers})

    assert response.status_code == 429
    assert factories.current_review(document).decision == "pending"


def test_it_ends_the_session_at_logout(client_for, officer):
    client = client_for(officer)
    key = client.session.session_key

    response = client.get(LOGIN.replace("login", "logout"))
    assert response.status_code == 405  # logging out is a POST
    client.post("/accounts/logout/")

    assert not Session.objects.filter(session_key=key).exists()
    assert client.get("/documents/").status_code == 302


@pytest.mark.parametrize(
    ("key", "age"),
    [
        ("last_seen", settings.SESSION_IDLE_TIMEOUT.total_seconds() + 1),
        ("started_at", settings.SESSION_COOKIE_AGE + 1),
    ],
)
def test_it_ends_an_idle_or_old_session(client_for, officer, key, age):
    client = client_for(officer)
    assert client.get("/documents/").status_code == 200
    session = client.session
    session[key] = time.time() - age
    session.save()

    response = client.get("/documents/")

    assert response.status_code == 302
    assert response.url.startswith(LOGIN)
    assert client.get("/documents/").status_code == 302
    assert AuditEvent.objects.latest("sequence").action == AuditAction.LOGOUT


def test_it_ends_a_deactivated_users_sessions(client_for, officer):
    client = client_for(officer)
    assert client.get("/documents/").status_code == 200

    officer.is_active = False
    officer.save()

    response = client.get("/documents/")
    assert response.status_code == 302
    assert response.url.startswith(LOGIN)


def test_it_hashes_passwords_with_argon2_and_validates_them():
    # The test run swaps in a fast hasher (conftest); the project's settings say Argon2id with OWASP's parameters.
    assert project.PASSWORD_HASHERS[0] == "accounts.hashers.OWASPArgon2PasswordHasher"  # tests/test_password_hashing.py
    assert len(project.AUTH_PASSWORD_VALIDATORS) == 4


def test_it_sends_a_content_security_policy_with_a_nonce_and_no_inline_script(client_for, drafter):
    for client, url in [
        (client_for(drafter), "/documents/"),
        (client_for(drafter), "/documents/new/"),
        (Client(), LOGIN),
    ]:
        response = client.get(url)
        assert response.status_code == 200
        policy = response.headers["Content-Security-Policy"]
        nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
        html = response.content.decode()
        assert "script-src 'self' 'nonce-" in policy
        assert "unsafe-inline" not in policy
        assert f'<meta name="csp-nonce" content="{nonce}">' in html
        for script in re.findall(r"<script\b[^>]*>", html):
            if 'type="application/json"' in script:
                continue  # data for a script (json_script), which the browser never runs
            assert "src=" in script, f"inline script on {url}: {script}"
        assert not re.search(r"\son(click|load|submit|change)=", html)
