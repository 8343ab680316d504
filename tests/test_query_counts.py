"""The pages people use most cost a bounded number of queries, the same whatever the number of pieces."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from review.models import Document
from tests import factories

QUEUE = reverse("review:queue")
DOCUMENTS = reverse("review:documents")
# A piece's page: the session and the user (2), the piece, its reviews and what the user holds on it (3), the user's
# roles (1: the navigation's, which also say whether they may reassign), the version of the sensitive terms (1,
# review/prechecks.py) and the dismissed findings (1, only when the pre-checks find something), its attachments and
# history (2), the navigation's figures (1); a reviewer also the decision form's checklist and error categories
# (2, review/forms.py), the drafter of a signed piece the signatures' answers and errors (2).
PIECE_PAGE_QUERIES = 12
# One approval: the session, the user and the piece (3), the form (2: its checklist serves the service too), the
# check before the password (3, reads only: no savepoint), the password (2: the lockout counts, then Django's
# authenticate() reads the signer, accounts/signature.py), the check under the lock (3, and its savepoint: 2), the
# decision (4), the grants (5), the audit event (2; on PostgreSQL 3: the chain's advisory lock), who is next and
# where to go next (3).
APPROVAL_QUERIES = 29


def queries_for(client, path) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(path)
    assert response.status_code == 200
    return len(context)


def add_pieces(count: int, *, drafter) -> None:
    for _n in range(count):
        factories.submitted_document(drafter=drafter)


def test_it_shows_a_reviewer_the_piece_at_their_stage_in_few_queries(
    client_for, django_assert_max_num_queries, drafter, officer
):
    document = factories.submitted_document(drafter=drafter)
    client = client_for(officer)
    client.get(document.get_absolute_url())  # the first request of a session warms the caches

    with django_assert_max_num_queries(PIECE_PAGE_QUERIES):
        response = client.get(document.get_absolute_url())

    assert response.status_code == 200
    assert response.context["can_review"]
    assert response.context["decision_form"] is not None


def test_it_shows_the_drafter_their_piece_in_few_queries(
    client_for, django_assert_max_num_queries, drafter, officer, head
):
    document = factories.approve_by(factories.submitted_document(drafter=drafter), officer)
    client = client_for(drafter)
    client.get(document.get_absolute_url())

    with django_assert_max_num_queries(PIECE_PAGE_QUERIES):
        response = client.get(document.get_absolute_url())

    assert response.status_code == 200
    assert not response.context["can_review"]
    assert [review.signer_name for review in response.context["reviews"] if review.decided_at] == ["李信"]


@pytest.mark.parametrize("persona", ["officer", "drafter"])
def test_it_shows_a_piece_in_the_same_queries_among_few_or_many(request, client_for, drafter, persona):
    document = factories.submitted_document(drafter=drafter)
    client = client_for(request.getfixturevalue(persona))
    add_pieces(2, drafter=drafter)
    client.get(document.get_absolute_url())
    few = queries_for(client, document.get_absolute_url())

    add_pieces(27, drafter=drafter)
    many = queries_for(client, document.get_absolute_url())

    assert Document.objects.count() == 30
    assert many == few


def test_it_approves_at_a_middle_stage_in_few_queries(
    client_for, django_assert_max_num_queries, drafter, officer, head, leader
):
    document = factories.approve_by(factories.submitted_document(drafter=drafter), officer)
    form = {
        "review": factories.current_review(document).pk,
        "opinion": "同意。",
        "password": factories.PASSWORD,
        **factories.checklist_form(document),
    }
    client = client_for(head)
    client.get(document.get_absolute_url())

    with django_assert_max_num_queries(APPROVAL_QUERIES + (connection.vendor == "postgresql")):
        response = client.post(reverse("review:document_approve", args=[document.pk]), form)

    assert response.status_code == 302
    document = factories.fresh(document)
    assert document.state == Document.State.IN_REVIEW
    assert document.current_stage.role == "publicity_leader"
    assert factories.last_event(document).actor == head


@pytest.mark.parametrize(("persona", "path"), [("officer", QUEUE), ("officer", DOCUMENTS), ("drafter", DOCUMENTS)])
def test_it_shows_the_queue_and_the_list_in_the_same_queries_with_3_or_30_pieces(
    request, client_for, drafter, persona, path
):
    client = client_for(request.getfixturevalue(persona))
    add_pieces(3, drafter=drafter)
    client.get(path)
    few = queries_for(client, path)

    add_pieces(27, drafter=drafter)
    many = queries_for(client, path)

    response = client.get(path)
    assert response.context["page"].paginator.count == 30
    assert len(response.context["page"].object_list) == 25
    assert many == few


def test_it_counts_the_queue_once_for_the_page_and_its_badge(client_for, drafter, officer):
    add_pieces(3, drafter=drafter)
    client = client_for(officer)
    client.get(QUEUE)

    with CaptureQueriesContext(connection) as context:
        response = client.get(QUEUE)

    counts = [query["sql"] for query in context.captured_queries if 'FROM "review_document"' in query["sql"]]
    assert len(counts) == 2  # the paginator's count and the page itself: the badge takes the count
    assert 'id="queue-count">3<' in response.content.decode()
