"""Personas for the clinic's rule: one department's staff, the organisation's leaders, and an outsider."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from django.db import connection
from django.tasks import task_backends
from django.test import Client
from pytest_django.plugin import blocking_manager_key

from accounts.services import role_group_drift
from audit import guards
from review.permissions import grant_drift
from tests import factories
from tests.factories import Role


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The test database as migrations leave it must refuse changes to the audit log: check before any test."""
    with django_db_blocker.unblock():
        missing = guards.missing_guards(connection)
    assert not missing, f"the migrations leave the audit log unguarded: {missing}"


def _database_fixture(request) -> str | None:
    """Return the database fixture a test uses ("db" or "transactional_db"), or None when it uses none."""
    marker = request.node.get_closest_marker("django_db")
    if {"transactional_db", "live_server"} & set(request.fixturenames) or (marker and marker.kwargs.get("transaction")):
        return "transactional_db"
    if "db" in request.fixturenames or marker:
        return "db"
    return None


@pytest.fixture(autouse=True)
def _database_as_migrated(request):
    """Let a transactional test (the browser tests, the races) end by emptying every table.

    The audit guards rightly refuse that: they are lifted here, just before the database fixture empties the
    tables, and put back right after it (pytest_fixture_post_finalizer below) by the function the migration
    runs, so the next test sees the database as migrations left it.
    """
    if _database_fixture(request) != "transactional_db":
        yield
        return
    request.getfixturevalue("transactional_db")
    yield
    guards.remove(connection)


def pytest_fixture_post_finalizer(fixturedef, request):
    if fixturedef.argname == "_django_db_helper" and _database_fixture(request) == "transactional_db":
        with request.config.stash[blocking_manager_key].unblock():
            guards.install(connection)


@pytest.fixture(autouse=True)
def _object_permissions_follow_the_routes(request):
    """After every database test, each open piece's object permissions are exactly what its route calls for."""
    database = _database_fixture(request)
    if database is None:
        yield
        return
    # Set the database up first, so that it is still there when the check below runs at teardown.
    request.getfixturevalue(database)
    yield
    assert grant_drift() == []
    assert role_group_drift() == []


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


@pytest.fixture
def receiver():
    """A local HTTP server that answers POSTs with the scripted statuses (then 200) and keeps what it got."""
    received, script = [], []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(SimpleNamespace(path=self.path, headers=self.headers, body=body))
            status = script.pop(0) if script else 200
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield SimpleNamespace(
        url=f"http://127.0.0.1:{server.server_port}/hooks/imprimatur", received=received, script=script
    )
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def queue(settings):
    """A task queue that can defer, as the worker's database queue does: tasks wait there until run_queue()."""
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    backend = task_backends["default"]
    assert backend.supports_defer
    return backend
