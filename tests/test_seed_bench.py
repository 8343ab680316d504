"""seed_bench: many pieces and audit events by bulk inserts, after seed_demo, each piece as the services would leave
it (route, revision, reviews, grants), the chain verifiable, and the demo's people still working."""

import io
from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.http import HttpRequest

from accounts.models import User
from audit.verify import verify_chain
from review import permissions, services
from review.models import Document
from tests import factories

pytestmark = pytest.mark.django_db

PASSWORD = "demo-pass-2026"


@pytest.fixture
def seeded(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", "--no-history", stdout=io.StringIO())
    out = io.StringIO()
    call_command("seed_bench", "--documents", "100", "--events", "500", stdout=out)
    return out.getvalue()


def test_it_adds_pieces_in_every_state_and_a_verifiable_chain(seeded):
    bench = Document.objects.filter(title__startswith="基准稿件")
    states = Counter(bench.values_list("state", flat=True))

    assert "Added 100 pieces and 500 audit events." in seeded
    assert bench.count() == 100
    assert set(states) == {"draft", "in_review", "returned", "approved", "rejected", "published"}
    waiting_first = bench.filter(state="in_review", current_stage__name="初审", department__code="public-health")
    assert waiting_first.count() >= 100 // 3
    result = verify_chain()
    assert result.ok and result.head.sequence >= 500
    assert permissions.grant_drift() == []  # every piece's grants are what its route and state call for


def test_the_demo_people_see_full_queues_and_can_act_on_the_pieces(seeded, client):
    officer = User.objects.get(username="officer")
    queue = Document.objects.awaiting(officer)
    assert queue.filter(title__startswith="基准稿件").count() >= 100 // 3
    assert client.login(request=HttpRequest(), username="officer", password=PASSWORD)

    piece = queue.filter(title__startswith="基准稿件").first()
    services.approve(document=piece, user=officer, password=PASSWORD, checklist=factories.answers(piece))

    piece = Document.objects.get(pk=piece.pk)
    assert (piece.state, piece.current_stage.name) == ("in_review", "复审")
    assert Document.objects.awaiting(User.objects.get(username="head")).filter(pk=piece.pk).exists()


def test_it_needs_the_demo_clinic_first(db):
    with pytest.raises(CommandError, match="seed_demo"):
        call_command("seed_bench", "--documents", "10", "--events", "10", stdout=io.StringIO())
