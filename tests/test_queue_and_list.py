import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from review import context_processors
from review.models import Document
from tests import factories
from tests.factories import Role

QUEUE = reverse("review:queue")
DOCUMENTS = reverse("review:documents")


def days(n: int) -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=n)


def listed(response) -> list[Document]:
    return list(response.context["page"].object_list)


def test_it_queues_pieces_at_the_users_stage_earliest_due_first(client_for, drafter, officer):
    later = factories.submitted_document(drafter=drafter, due_date=days(3))
    undated = factories.submitted_document(drafter=drafter)
    overdue = factories.submitted_document(drafter=drafter, due_date=days(-1))
    soon = factories.submitted_document(drafter=drafter, due_date=days(1))
    factories.make_document(drafter=drafter, due_date=days(-5))  # a draft: nobody's to review yet

    response = client_for(officer).get(QUEUE)

    assert response.status_code == 200
    assert listed(response) == [overdue, soon, later, undated]
    assert overdue.is_overdue and not soon.is_overdue
    assert response.content.decode().count('class="card overdue"') == 1


def test_it_moves_a_piece_to_the_next_reviewers_queue(client_for, drafter, officer, head, leader):
    document = factories.submitted_document(drafter=drafter)
    assert listed(client_for(head).get(QUEUE)) == []

    factories.approve_by(document, officer)

    assert listed(client_for(officer).get(QUEUE)) == []
    assert listed(client_for(head).get(QUEUE)) == [document]
    assert listed(client_for(leader).get(QUEUE)) == []


def test_it_queues_only_the_departments_own_pieces(client_for, drafter, officer, outsider, other_department):
    theirs = factories.submitted_document(drafter=outsider, department=other_department)
    ours = factories.submitted_document(drafter=drafter)

    assert listed(client_for(officer).get(QUEUE)) == [ours]
    # The outsider is their department's officer, but drafted this one themselves.
    assert listed(client_for(outsider).get(QUEUE)) == []
    assert theirs.drafter == outsider


def test_it_queues_every_departments_pieces_for_an_organisation_wide_leader(
    client_for, drafter, officer, head, leader, other_department
):
    their_drafter = factories.make_user(roles=[(Role.DRAFTER, other_department)])
    their_officer = factories.make_user(roles=[(Role.INFORMATION_OFFICER, other_department)])
    their_head = factories.make_user(roles=[(Role.DEPARTMENT_HEAD, other_department)])
    ours = factories.approved_document(officer, head, drafter=drafter, due_date=days(2))
    theirs = factories.approved_document(their_officer, their_head, drafter=their_drafter, due_date=days(1))

    assert listed(client_for(leader).get(QUEUE)) == [theirs, ours]


def test_it_sends_people_home_to_their_queue_when_work_waits(client_for, drafter, officer):
    assert client_for(officer).get(reverse("review:home")).url == DOCUMENTS
    factories.submitted_document(drafter=drafter)

    assert client_for(officer).get(reverse("review:home")).url == QUEUE
    assert client_for(drafter).get(reverse("review:home")).url == DOCUMENTS


def test_it_asks_visitors_to_log_in(client):
    for path in (QUEUE, DOCUMENTS):
        response = client.get(path)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_it_lists_what_each_person_may_see(client_for, department, drafter, officer, auditor, outsider):
    colleague = factories.make_user(roles=[(Role.DRAFTER, department)])
    draft = factories.make_document(drafter=drafter)
    colleagues_draft = factories.make_document(drafter=colleague)
    submitted = factories.submitted_document(drafter=drafter)
    outsiders_draft = factories.make_document(drafter=outsider)

    def titles(user):
        return {document.title for document in listed(client_for(user).get(DOCUMENTS))}

    assert titles(drafter) == {draft.title, colleagues_draft.title, submitted.title}
    assert titles(officer) == {submitted.title}
    assert titles(auditor) == {draft.title, colleagues_draft.title, submitted.title, outsiders_draft.title}
    assert titles(outsider) == {outsiders_draft.title}


def test_it_filters_by_state_and_by_drafter(client_for, department, drafter):
    colleague = factories.make_user(roles=[(Role.DRAFTER, department)])
    draft = factories.make_document(drafter=drafter)
    submitted = factories.submitted_document(drafter=drafter)
    colleagues_draft = factories.make_document(drafter=colleague)
    client = client_for(drafter)

    assert set(listed(client.get(DOCUMENTS, {"state": "draft"}))) == {draft, colleagues_draft}
    assert listed(client.get(DOCUMENTS, {"state": "in_review"})) == [submitted]
    assert set(listed(client.get(DOCUMENTS, {"mine": "1", "state": "draft"}))) == {draft}
    unknown = client.get(DOCUMENTS, {"state": "no-such-state"})
    assert unknown.status_code == 400 and listed(unknown) == []  # said, not silently ignored


def test_it_answers_htmx_with_the_results_only(client_for, drafter):
    document = factories.make_document(drafter=drafter)

    response = client_for(drafter).get(DOCUMENTS, HTTP_HX_REQUEST="true")

    content = response.content.decode()
    assert response.status_code == 200
    assert 'id="results"' in content
    assert document.title in content
    assert "<html" not in content


def queries_for(client, path) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(path)
    assert response.status_code == 200
    return len(context)


def add_pieces(count: int, *, drafter, approved_by=()):
    for n in range(count):
        document = factories.submitted_document(drafter=drafter, due_date=days(n - 2), is_major=n % 3 == 0)
        factories.approve_by(document, *approved_by)


@pytest.mark.parametrize(("persona", "approved_by"), [("officer", []), ("leader", ["officer", "head"])])
def test_it_shows_the_queue_in_a_constant_number_of_queries(request, client_for, drafter, persona, approved_by):
    client = client_for(request.getfixturevalue(persona))
    approved_by = [request.getfixturevalue(name) for name in approved_by]
    add_pieces(2, drafter=drafter, approved_by=approved_by)
    client.get(QUEUE)  # the first request of a session warms the caches
    few = queries_for(client, QUEUE)

    add_pieces(10, drafter=drafter, approved_by=approved_by)
    many = queries_for(client, QUEUE)

    assert len(listed(client.get(QUEUE))) == 12
    assert many == few


@pytest.mark.parametrize("persona", ["drafter", "officer", "auditor"])
def test_it_lists_pieces_in_a_constant_number_of_queries(
    request, client_for, django_assert_max_num_queries, drafter, persona
):
    client = client_for(request.getfixturevalue(persona))
    add_pieces(2, drafter=drafter)
    client.get(DOCUMENTS)
    few = queries_for(client, DOCUMENTS)

    add_pieces(10, drafter=drafter)
    many = queries_for(client, DOCUMENTS)

    assert len(listed(client.get(DOCUMENTS))) == 12
    assert many == few
    with django_assert_max_num_queries(12):
        client.get(DOCUMENTS)


@pytest.mark.parametrize(("waiting", "badge"), [(2, "2"), (3, "2+"), (4, "2+")])
def test_the_queue_badge_counts_up_to_its_limit(client_for, drafter, officer, monkeypatch, waiting, badge):
    monkeypatch.setattr(context_processors, "BADGE_LIMIT", 3)  # "99+" beyond 99 pieces, here "2+" beyond 2
    for _n in range(waiting):
        factories.submitted_document(drafter=drafter)

    for page in (DOCUMENTS, QUEUE):  # counted by the navigation; by the queue's own paginator
        assert f'id="queue-count">{badge}<' in client_for(officer).get(page).content.decode()
