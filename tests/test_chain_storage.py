"""The hash covers what is stored: every hashed field, read back from the database, gives the hash it was saved with.

These run on both databases (CI runs the suite on SQLite and on PostgreSQL). Each event is read back with a fresh
query and its hash recomputed twice: from the values Django reads, and from the canonical text the database itself
builds (what `verify_audit` uses). Awkward values are the point: a non-canonical IPv6 address, large integers and
unusual Unicode, which once made the chain fail verification forever.
"""

import datetime
import json

import pytest
from django.db import connection
from django.test import RequestFactory

from audit import chain
from audit.context import RequestContext, current_request
from audit.models import AuditEvent
from audit.verify import verify_chain
from tests import factories

pytestmark = pytest.mark.django_db

AWKWARD_TEXT = "初审\x00 NUL, \ud800 a lone surrogate, 😀 emoji, e\u0301 combining, \u202eRTL, \u2028 separators"


def recorded(context: RequestContext | None = None, **fields) -> AuditEvent:
    token = current_request.set(context or RequestContext())
    try:
        return AuditEvent.objects.record(action="tested", **fields)
    finally:
        current_request.reset(token)


def assert_round_trip(event: AuditEvent) -> AuditEvent:
    """Read the event back and check its hash and signature against what the database holds."""
    stored = AuditEvent.objects.get(pk=event.pk)
    assert chain.event_hash(stored.prev_hash, stored.canonical()) == stored.hash == event.hash
    with connection.cursor() as cursor:
        # Without parameters: the expression holds the formatting function's own % signs.
        cursor.execute(
            f"SELECT {chain.canonical_sql(connection.vendor)} FROM audit_event WHERE sequence = {event.pk:d}"
        )
        (database_canonical,) = cursor.fetchone()
    assert database_canonical == stored.canonical()
    assert chain.genuine(stored.signature, stored.hash)
    return stored


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("2001:DB8:0:0::1", "2001:db8::1"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("fe80::1%eth0", "fe80::1"),
        ("192.0.2.7", "192.0.2.7"),
        ("not an address", ""),
        ("", ""),
    ],
)
def test_it_hashes_an_address_as_stored(given, stored):
    event = recorded(RequestContext(ip_address=given))

    assert assert_round_trip(event).ip_address == stored


@pytest.mark.parametrize(
    "data",
    [
        {"big": 2**80, "negative": -(2**70), "nested": {"list": [1, "二", None, True, False, {"z": 1, "a": 2}]}},
        {"text": AWKWARD_TEXT, AWKWARD_TEXT: "a key like that too"},
        {"empty": {}, "none": None, "zero": 0},
        {},
    ],
)
def test_it_hashes_data_as_stored(data):
    event = recorded(data=data)

    stored = assert_round_trip(event)
    assert stored.data == json.loads(chain.canonical_json(data))
    assert stored.data == event.data


def test_data_keeps_big_integers_exactly():
    stored = assert_round_trip(recorded(data={"big": 2**80}))

    assert stored.data["big"] == 2**80


@pytest.mark.parametrize("value", [1.5, float("nan"), datetime.date(2026, 1, 1), {1: "an integer key"}, b"bytes"])
def test_it_refuses_data_json_cannot_hold_exactly(value):
    before = AuditEvent.objects.count()

    with pytest.raises(TypeError):
        recorded(data={"value": value} if not isinstance(value, dict) else value)

    assert AuditEvent.objects.count() == before


def test_it_hashes_unusual_text_in_every_text_field_as_stored(drafter):
    document = factories.make_document(drafter=drafter, title="通知")
    request = RequestFactory().get("/", HTTP_USER_AGENT=AWKWARD_TEXT, HTTP_X_REQUEST_ID="req-1.2:3_ok")
    context = RequestContext.from_request(request)

    event = recorded(
        context,
        actor=drafter,
        actor_role=AWKWARD_TEXT,
        obj=document,
        object_repr=AWKWARD_TEXT * 20,
        scope=AWKWARD_TEXT,
        content_hash="x" * 100,
        from_state=AWKWARD_TEXT,
        to_state=AWKWARD_TEXT,
        comment=AWKWARD_TEXT * 50,
    )

    stored = assert_round_trip(event)
    assert "\x00" not in stored.comment and "\ufffd" in stored.comment
    assert len(stored.object_repr) == 200
    assert len(stored.content_hash) == 64
    assert stored.request_id == "req-1.2:3_ok"
    assert stored.object_type == "review.document" and stored.object_id == document.pk


@pytest.mark.parametrize("request_id", ["<script>", "x" * 65, "line\nbreak", "空格 id"])
def test_a_client_request_id_is_kept_only_when_plain(request_id):
    request = RequestFactory().get("/", HTTP_X_REQUEST_ID=request_id)

    context = RequestContext.from_request(request)

    assert context.request_id != request_id
    assert len(context.request_id) == 32 and context.request_id.isalnum()


def test_a_time_on_the_whole_second_is_hashed_as_stored(monkeypatch):
    moment = datetime.datetime(2026, 12, 1, 2, 3, 4, tzinfo=datetime.UTC)
    monkeypatch.setattr("audit.models.timezone.now", lambda: moment)

    stored = assert_round_trip(recorded())

    assert stored.created_at == moment


def test_the_whole_chain_of_awkward_events_verifies():
    for given in ("2001:DB8:0:0::1", "::ffff:10.0.0.1", "127.0.0.1"):
        recorded(RequestContext(ip_address=given, user_agent=AWKWARD_TEXT), data={"n": 2**64, "t": AWKWARD_TEXT})

    result = verify_chain()

    assert result.ok, result.problem
    assert result.events == AuditEvent.objects.count()
