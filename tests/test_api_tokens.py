"""API tokens are stored hashed, expire, and stop working when the password changes or the account is locked;
throttles and lockouts are counted in the shared cache and database, so every app server counts the same."""

import datetime
import hashlib

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken, AuditAction
from audit.models import AuditEvent
from tests.api import clean_throttles  # noqa: F401 (an autouse fixture)
from tests.factories import PASSWORD, zh

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
ME = "/api/v1/me/"


def get_token(username: str, password: str = PASSWORD, **extra) -> str:
    response = APIClient().post(TOKEN, {"username": username, "password": password}, format="json", **extra)
    assert response.status_code == 200, response.content
    return response.json()["token"]


def me(token: str, **extra):
    return APIClient().get(ME, HTTP_AUTHORIZATION=f"Token {token}", **extra)


def test_the_key_is_stored_only_as_its_hash(officer):
    key = get_token("officer")

    token = ApiToken.objects.get(user=officer)
    assert token.digest == hashlib.sha256(key.encode()).hexdigest()
    assert key not in {token.digest, token.prefix, token.password_stamp}
    assert token.prefix == key[:8]
    assert me(key).json()["username"] == "officer"


def test_each_request_gives_a_new_token_and_both_work(officer):
    first, second = get_token("officer"), get_token("officer")

    assert first != second
    assert me(first).status_code == me(second).status_code == 200
    assert ApiToken.objects.filter(user=officer).count() == 2


def test_a_token_expires(officer):
    key = get_token("officer")
    token = ApiToken.objects.get(user=officer)
    assert abs(token.expires_at - token.created_at - settings.API_TOKEN_LIFETIME) < datetime.timedelta(seconds=1)

    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))

    response = me(key)
    assert response.status_code == 401
    assert response.json() == {"detail": zh("Invalid or expired token; ask for a new one.")}


def test_expired_tokens_are_removed_when_the_next_one_is_issued(officer):
    get_token("officer")
    ApiToken.objects.update(expires_at=timezone.now() - datetime.timedelta(days=1))

    get_token("officer")

    assert ApiToken.objects.filter(user=officer).count() == 1


def test_a_password_change_ends_every_token(officer):
    key = get_token("officer")

    officer.set_password("a-new-password-2026")
    officer.save()

    assert me(key).status_code == 401


def test_a_deactivated_user_is_refused(officer):
    key = get_token("officer")

    officer.is_active = False
    officer.save()

    assert me(key).status_code == 401


def test_a_locked_account_is_refused(officer):
    key = get_token("officer")
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        APIClient().post(TOKEN, {"username": "officer", "password": "wrong"}, format="json")

    response = me(key)

    assert response.status_code == 401
    assert response.json() == {"detail": zh("Too many failed logins: this account is locked for a while.")}


def test_an_unknown_token_is_refused():
    assert APIClient().get(ME, HTTP_AUTHORIZATION="Token " + "0" * 40).status_code == 401


def test_the_throttle_counts_in_the_shared_cache(officer):
    """Ten token requests a minute means ten, whichever app server takes them: the count is in the database cache."""
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    for _attempt in range(10):
        get_token("officer")
    # A cache object of another "server": a fresh handler over the same database table sees the same count.
    other_server = caches.create_connection("default")
    assert any(key.startswith("throttle_token_") for key in _cache_keys()), _cache_keys()
    assert other_server.get(_throttle_key()) is not None

    response = APIClient().post(TOKEN, {"username": "officer", "password": PASSWORD}, format="json")

    assert response.status_code == 429


def _cache_keys() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT cache_key FROM imprimatur_cache")
        return [key.split(":", 2)[-1] for (key,) in cursor.fetchall()]


def _throttle_key() -> str:
    return next(key for key in _cache_keys() if key.startswith("throttle_token_"))


def test_a_flood_of_failed_logins_from_one_address_is_locked_out_by_address(db):
    """Many user names from one address: the address is locked, and the log stops growing."""
    before = AuditEvent.objects.count()
    limit = settings.LOGIN_ADDRESS_FAILURE_LIMIT
    client = Client(REMOTE_ADDR="203.0.113.9")
    for number in range(limit + 20):
        client.post("/accounts/login/", {"username": f"nobody{number}", "password": "guess"})

    failures = AuditEvent.objects.filter(sequence__gt=before, action=AuditAction.LOGIN_FAILED).count()
    assert failures == limit
    # Another address is not affected.
    response = Client(REMOTE_ADDR="203.0.113.10").post("/accounts/login/", {"username": "x", "password": "y"})
    assert response.status_code == 200
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED).count() == failures + 1


def test_a_lockout_is_recorded_once(officer):
    before = AuditEvent.objects.count()
    client = Client(REMOTE_ADDR="198.51.100.4")
    for _attempt in range(settings.AXES_FAILURE_LIMIT + 5):
        client.post("/accounts/login/", {"username": "officer", "password": "guess"})

    actions = list(AuditEvent.objects.filter(sequence__gt=before).values_list("action", flat=True))
    # The attempt that reaches the limit is recorded as the lockout itself; later attempts are refused unheard.
    assert actions == [AuditAction.LOGIN_FAILED] * (settings.AXES_FAILURE_LIMIT - 1) + [AuditAction.LOCKED_OUT]
