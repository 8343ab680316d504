"""API: the OpenAPI schema is valid, its page loads nothing from elsewhere, and the API keeps to it (Schemathesis)."""

import re

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from accounts.tokens import issue_token
from config.wsgi import application
from review import services
from review.models import Document, ErrorCategory
from tests import factories
from tests.api import api_client, clean_throttles  # noqa: F401 (an autouse fixture)
from tests.factories import Role

# The throttles live in the database cache: the database is set up before clean_throttles empties it.
pytestmark = pytest.mark.django_db

# Enough to reach every branch of every operation a few times, and keep the run well under a minute.
EXAMPLES = 50
# A sign-off sheet takes WeasyPrint a noticeable fraction of a second.
SLOW_OPERATIONS = {"GET /api/v1/documents/{id}/signoff.pdf": 3}


def test_it_generates_the_schema_without_errors_or_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))

    assert "/api/v1/documents/{id}/approve/" in (tmp_path / "schema.yaml").read_text()


def test_it_serves_the_schema_and_a_page_that_loads_nothing_from_elsewhere(db):
    schema = api_client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    page = api_client().get("/api/docs/")

    assert schema.status_code == 200
    assert schema.json()["openapi"].startswith("3.")
    assert page.status_code == 200
    html = page.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(source.startswith("/") for source in sources), sources
    assert "googleapis" not in html and "cdn" not in html
    # Its script too: Redoc as shipped would show Redocly's logo from their server (refused by the CSP).
    script = api_client().get("/api/docs/redoc.js")
    assert script.status_code == 200 and script["Content-Type"].startswith("text/javascript")
    assert b"Redoc" in script.content and b"cdn.redoc.ly" not in script.content


def signature(document: Document) -> dict:
    """Return a valid approval of the piece's current stage: the password, a "yes" to every question of its
    checklist and an error count (which the stage's proofread records, or the API refuses)."""
    errors = [{"category": category.pk, "count": 1} for category in ErrorCategory.objects.filter(is_active=True)[:1]]
    return {
        "opinion": "同意。",
        "password": factories.PASSWORD,
        "checklist": factories.answers(document),
        "errors": errors,
    }


def new_piece(department: int) -> dict:
    return {
        "title": "通知",
        "body": "<p>正文</p>",
        "department": department,
        "channels": ["website"],
        "is_major": False,
    }


@pytest.fixture
def pieces(department, drafter, officer, head, leader):
    """A caller with several roles, and pieces in the states each action cares about."""
    caller = factories.make_user(
        "many-hats",
        display_name="多面手",
        roles=[(Role.DRAFTER, department), (Role.PUBLISHER, None), (Role.AUDITOR, None)],
    )
    return caller, [
        factories.make_document(drafter=caller),
        factories.submitted_document(drafter=caller),
        factories.submitted_document(drafter=drafter),
        factories.approved_document(officer, head, leader, drafter=drafter),
        factories.approved_document(officer, head, leader, drafter=caller),
        services.withdraw(document=factories.submitted_document(drafter=caller), user=caller),
    ]


@pytest.fixture
def keep_connection():
    """Keep the test's database connection across requests, as Django's test client does.

    Schemathesis calls the WSGI application itself, whose request signals would close a connection
    that is inside the test's transaction (PostgreSQL then has no connection for the rest of the test).
    """
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


# Who calls, and how many examples each operation gets: a caller with many roles reaches every branch; a reviewer
# meets the refusals of someone who may see a piece but not act on it; a caller without credentials gets 401s.
PERSONAS = {"many-hats": EXAMPLES, "officer": EXAMPLES // 3, "anonymous": EXAMPLES // 5}
APPROVE = "POST /api/v1/documents/{id}/approve/"


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_api_keeps_to_its_schema(persona, pieces, officer, keep_connection):
    caller, documents = pieces
    user = {"many-hats": caller, "officer": officer, "anonymous": None}[persona]
    headers = {"Authorization": f"Token {issue_token(user)}"} if user else {}
    schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
    checks = [not_a_server_error, response_schema_conformance]
    failures, statuses, answered = [], set(), {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 19
    assert "POST /api/v1/documents/{id}/withdraw/" in {operation.label for operation in operations}

    for operation in operations:
        strategies = [operation.as_strategy(), operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)]
        if "{id}" in operation.path:
            # Random ids are mostly 404s: also aim at pieces that exist, in every state.
            strategies += [operation.as_strategy(path_parameters={"id": document.pk}) for document in documents]
        if operation.label == "POST /api/v1/documents/":
            # Random departments are mostly refused: also send a piece the caller may save.
            strategies.append(operation.as_strategy(body=new_piece(documents[0].department_id)))
        if operation.label == APPROVE:
            # A random body answers no checklist and knows no password: also sign the pieces in review properly.
            strategies += [
                operation.as_strategy(path_parameters={"id": document.pk}, body=signature(document))
                for document in documents
                if document.state == Document.State.IN_REVIEW
            ]
        strategy = st.one_of(strategies)

        @settings(
            max_examples=min(SLOW_OPERATIONS.get(operation.label, EXAMPLES), PERSONAS[persona]),
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def run(case):
            response = case.call(headers=headers)
            statuses.add(response.status_code)
            answered.setdefault(case.operation.label, set()).add(response.status_code)
            case.validate_response(response, checks=checks)

        if operation.label == APPROVE:
            # And the first of those signatures for certain, whatever the random examples did to the pieces first.
            signable = Document.objects.filter(
                pk__in=[d.pk for d in documents], state=Document.State.IN_REVIEW, current_stage__name="初审"
            ).first()
            first = operation.Case(
                path_parameters={"id": signable.pk}, body=signature(signable), media_type="application/json"
            )
            run = example(case=first)(run)
        try:
            run()
        except Exception as error:  # report every operation that breaks, not only the first
            failures.append(f"{operation.label}: {error}")

    assert failures == []
    if persona == "many-hats":
        # It reached the API's answers of every kind, new pieces included.
        assert statuses >= {200, 201, 400, 403, 404, 409}
        assert Document.objects.count() > len(documents)
    elif persona == "officer":
        assert statuses >= {200, 400, 403, 404}
        # The officer signed a piece at 初审 (its answer, with the signature's checklist, kept to the schema).
        assert 200 in answered[APPROVE]
    else:
        # Nothing answers a caller without credentials but the token endpoint, which refuses made-up ones.
        assert 401 in statuses and statuses <= {400, 401, 404, 405, 429}
