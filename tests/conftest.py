"""Personas for the clinic's rule: one department's staff, the organisation's leaders, and an outsider."""

import pytest
from django.db import connection
from django.test import Client
from review.audit import install_append_only_guard, remove_append_only_guard

from tests import factories
from tests.factories import Role


@pytest.fixture(autouse=True)
def _append_only_audit(request):
    """Keep the audit tables' append-only triggers on in every database test.

    A transactional test (the browser tests) ends by emptying every table, which the triggers rightly
    refuse; they are lifted only for that clean-up, and put back at the start of the next test.
    """
    transactional = bool({"transactional_db", "live_server"} & set(request.fixturenames))
    marker = request.node.get_closest_marker("django_db")
    if not (transactional or "db" in request.fixturenames or marker):
        yield
        return
    transactional = transactional or bool(marker and marker.kwargs.get("transaction"))
    request.getfixturevalue("transactional_db" if transactional else "db")
    install_append_only_guard(connection)
    yield
    if transactional:
        remove_append_only_guard(connection)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Argon2 is deliberately slow; the tests check that passwords work, not how they are stored.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _tasks_run_at_once(settings):
    # Background tasks run inside the call that enqueues them (Django resets its task backends when TASKS
    # changes), so no worker is needed. Enqueued on commit, they still wait for the transaction: tests
    # in a transaction use django_capture_on_commit_callbacks(execute=True).
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path_factory):
    # Export files and uploads go to a throwaway directory, never into the project's media/.
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")


@pytest.fixture
def department(db):
    return factories.make_department(name="公共卫生科", code="public-health")


@pytest.fixture
def other_department(db):
    return factories.make_department(name="医务科", code="medical-affairs")


@pytest.fixture
def drafter(department):
    return factories.make_user("drafter", display_name="张晓雯", roles=[(Role.DRAFTER, department)])


@pytest.fixture
def officer(department):
    return factories.make_user("officer", display_name="李信", roles=[(Role.INFORMATION_OFFICER, department)])


@pytest.fixture
def head(department):
    return factories.make_user("head", display_name="王建国", roles=[(Role.DEPARTMENT_HEAD, department)])


@pytest.fixture
def leader(db):
    return factories.make_user("leader", display_name="陈志强", roles=[(Role.PUBLICITY_LEADER, None)])


@pytest.fixture
def principal(db):
    return factories.make_user("principal", display_name="刘德明", roles=[(Role.PRINCIPAL_LEADER, None)])


@pytest.fixture
def publisher(db):
    return factories.make_user("publisher", display_name="赵敏", roles=[(Role.PUBLISHER, None)])


@pytest.fixture
def auditor(db):
    return factories.make_user("auditor", display_name="孙丽", roles=[(Role.AUDITOR, None)])


@pytest.fixture
def outsider(other_department):
    """A drafter and information officer of another department."""
    return factories.make_user(
        "outsider",
        display_name="周杰",
        roles=[(Role.DRAFTER, other_department), (Role.INFORMATION_OFFICER, other_department)],
    )


@pytest.fixture
def reviewers(officer, head, leader):
    """The three everyday reviewers, in stage order."""
    return [officer, head, leader]


@pytest.fixture
def client_for(db):
    """Return a function that gives a test client logged in as a user."""

    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make
