"""Passwords are hashed with Argon2id at OWASP's listed minimum cost; older hashes are upgraded at the next login."""

import argon2
import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, PBKDF2PasswordHasher, check_password, make_password

from accounts.hashers import OWASPArgon2PasswordHasher
from config import settings as project_settings
from tests import factories

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _project_hashers(settings):
    # The suite hashes with MD5 for speed (tests/conftest.py); these tests are about the project's own list.
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS


def parameters(encoded: str) -> tuple[int, int, int]:
    """Return (memory in KiB, passes, lanes) of an Argon2 hash as Django stores it ("argon2$argon2id$...")."""
    params = argon2.extract_parameters(encoded.removeprefix("argon2"))
    assert params.type is argon2.Type.ID
    return params.memory_cost, params.time_cost, params.parallelism


def test_it_hashes_new_passwords_with_owasps_minimum_argon2id():
    assert project_settings.PASSWORD_HASHERS[0] == "accounts.hashers.OWASPArgon2PasswordHasher"
    encoded = make_password(PASSWORD)
    assert parameters(encoded) == (19456, 2, 1)
    assert check_password(PASSWORD, encoded)
    assert not check_password("wrong", encoded)
    assert not OWASPArgon2PasswordHasher().must_update(encoded)


@pytest.mark.parametrize(
    "hasher", [Argon2PasswordHasher(), PBKDF2PasswordHasher()], ids=["django-default-argon2", "pbkdf2"]
)
def test_it_rehashes_an_older_hash_at_login(client, db, hasher):
    user = factories.make_user("wang")
    user.password = hasher.encode(PASSWORD, hasher.salt())
    user.save(update_fields=["password"])
    if isinstance(hasher, Argon2PasswordHasher):
        assert parameters(user.password) == (102400, 2, 8)  # Django's default: 100 MiB, 8 lanes

    response = client.post("/accounts/login/", {"username": "wang", "password": PASSWORD})

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
    user.refresh_from_db()
    assert parameters(user.password) == (19456, 2, 1)
    assert user.check_password(PASSWORD)


def test_a_wrong_password_leaves_the_older_hash_alone(client, db):
    user = factories.make_user("wang")
    old = Argon2PasswordHasher().encode(PASSWORD, Argon2PasswordHasher().salt())
    user.password = old
    user.save(update_fields=["password"])

    response = client.post("/accounts/login/", {"username": "wang", "password": "not it"})

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.password == old
