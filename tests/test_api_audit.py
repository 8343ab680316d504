"""API: the audit log and its downloads, for auditors."""

import csv
import datetime
import io
import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditAction as AccountAction
from audit.chain import GENESIS_HASH, HASHED_FIELDS, TIME_FORMAT, canonical, event_hash
from audit.labels import Action as LogAction
from audit.models import AuditEvent, ExportJob
from tests import factories
from tests.api import api_client, clean_throttles  # noqa: F401 (an autouse fixture)
from tests.factories import zh

# The throttles live in the database cache: the database is set up before clean_throttles empties it.
pytestmark = pytest.mark.django_db

AUDIT = "/api/v1/audit/"
EXPORT = "/api/v1/audit/export"


def streamed(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.fixture
def history(drafter, officer, outsider):
    """Two pieces in two departments, one of them signed at 初审."""
    mine = factories.approve_by(factories.submitted_document(drafter=drafter), officer)
    theirs = factories.make_document(drafter=outsider)
    return mine, theirs


def test_it_reads_the_log_newest_first_with_every_hashed_field(auditor, history):
    response = api_client(auditor).get(AUDIT)

    assert response.status_code == 200
    results = response.json()["results"]
    assert [e["sequence"] for e in results] == list(
        AuditEvent.objects.order_by("-sequence").values_list("sequence", flat=True)
    )
    newest = AuditEvent.objects.order_by("-sequence").first()
    assert (results[0]["prev_hash"], results[0]["hash"], results[0]["signature"]) == (
        newest.prev_hash,
        newest.hash,
        newest.signature,
    )
    renamed = {"actor_id": "actor"}
    assert set(results[0]) == {renamed.get(name, name) for name in HASHED_FIELDS} | {"prev_hash", "hash", "signature"}


def test_it_pages_by_cursor(auditor, drafter):
    for _ in range(60):
        factories.make_document(drafter=drafter)
    client = api_client(auditor)

    first = client.get(AUDIT).json()
    second = client.get(first["next"]).json()

    assert len(first["results"]) == 50
    assert first["results"][-1]["sequence"] == second["results"][0]["sequence"] + 1
    assert AuditEvent.objects.count() == len(first["results"]) + len(second["results"])


def test_it_filters_like_the_audit_page(auditor, officer, history, other_department):
    mine, theirs = history
    client = api_client(auditor)

    def sequences(**query):
        return [e["sequence"] for e in client.get(AUDIT, query).json()["results"]]

    assert sequences(action="approved") == list(
        AuditEvent.objects.filter(action="approved").values_list("sequence", flat=True)
    )
    assert sequences(document=mine.pk) == list(
        AuditEvent.objects.about(mine).order_by("-sequence").values_list("sequence", flat=True)
    )
    # A department's events: its pieces' and the roles granted in it (the outsider's two).
    assert sequences(department=other_department.pk) == [
        AuditEvent.objects.about(theirs).get().sequence,
        *AuditEvent.objects.filter(action=AccountAction.MEMBERSHIP_ADDED, scope=str(other_department.pk))
        .order_by("-sequence")
        .values_list("sequence", flat=True),
    ]
    assert len(sequences(department=other_department.pk)) == 3
    assert sequences(actor=officer.pk, action="approved") == [
        AuditEvent.objects.about(mine).get(action="approved").sequence
    ]


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ({"since": "2026-12-01", "until": "2026-11-01"}, ["non_field_errors"]),
        ({"since": "soon"}, ["since"]),
        ({"action": "danced"}, ["action"]),
        ({"document": str(2**70)}, ["document"]),
        ({"actor": "999999"}, ["actor"]),
    ],
)
def test_it_refuses_bad_filters(auditor, query, fields):
    response = api_client(auditor).get(AUDIT, query)

    assert response.status_code == 400
    assert sorted(response.json()) == fields


@pytest.mark.parametrize("persona", ["drafter", "officer", "publisher"])
def test_it_keeps_the_log_to_auditors(request, persona):
    response = api_client(request.getfixturevalue(persona)).get(AUDIT)

    assert response.status_code == 403
    assert response.json() == {"detail": zh("Only auditors can read the audit log.")}
    assert api_client(request.getfixturevalue(persona)).get(EXPORT, {"format": "csv"}).status_code == 403


def test_it_lets_a_superuser_read_the_log(db):
    admin = factories.make_user("admin")
    admin.is_superuser = True
    admin.save()

    assert api_client(admin).get(AUDIT).status_code == 200


def test_it_streams_a_csv_download_and_logs_it(auditor, history):
    response = api_client(auditor).get(EXPORT, {"format": "csv", "action": "submitted"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(streamed(response).decode("utf-8-sig"))))
    assert [row["action"] for row in rows] == ["submitted"]
    job = ExportJob.objects.get()
    assert (job.status, job.row_count, job.filters) == (ExportJob.Status.DONE, 1, {"action": "submitted"})
    assert response["X-Export-Manifest"].endswith(f"/api/v1/audit/exports/{job.pk}/manifest/")
    download = AuditEvent.objects.get(action=LogAction.DOWNLOADED)
    assert (download.actor, download.actor_role, download.data) == (
        auditor,
        "auditor",
        {"format": "csv", "filters": {"action": "submitted"}, "export_job": job.pk},
    )


def test_it_streams_json_lines_that_recompute_the_chain(auditor, history):
    response = api_client(auditor).get(EXPORT, {"format": "jsonl"})

    lines = [json.loads(line) for line in streamed(response).decode().splitlines()]
    assert response["Content-Type"] == "application/jsonl; charset=utf-8"
    assert [line["sequence"] for line in lines] == list(range(1, len(lines) + 1))
    assert lines[-1]["action"] == LogAction.DOWNLOADED  # the download is in the file it makes
    # From the file alone: each line's hash is its predecessor's hash and its own hashed fields.
    prev_hash = GENESIS_HASH
    for line in lines:
        values = {name: line[name] for name in HASHED_FIELDS}
        values["created_at"] = datetime.datetime.strptime(line["created_at"], TIME_FORMAT).replace(tzinfo=datetime.UTC)
        assert line["prev_hash"] == prev_hash
        assert event_hash(prev_hash, canonical(values)) == line["hash"]
        prev_hash = line["hash"]
    stored = AuditEvent.objects.get(sequence=lines[0]["sequence"])
    assert event_hash(GENESIS_HASH, stored.canonical()) == lines[0]["hash"] == stored.hash
    assert [line["signature"] for line in lines] == list(
        AuditEvent.objects.order_by("sequence").values_list("signature", flat=True)
    )


def test_it_serves_the_manifest_to_the_auditor_who_downloaded(auditor, history, db):
    streamed(api_client(auditor).get(EXPORT, {"format": "csv"}))
    job = ExportJob.objects.get()
    other_auditor = factories.make_user("auditor2", roles=[(factories.Role.AUDITOR, None)])

    manifest = api_client(auditor).get(f"/api/v1/audit/exports/{job.pk}/manifest/")

    assert manifest.status_code == 200
    assert (manifest.json()["row_count"], manifest.json()["sha256"]) == (job.row_count, job.sha256)
    assert (manifest.json()["head_sequence"], manifest.json()["checkpoint"]) == (job.head_sequence, job.checkpoint)
    assert api_client(other_auditor).get(f"/api/v1/audit/exports/{job.pk}/manifest/").status_code == 403
    assert api_client(auditor).get("/api/v1/audit/exports/999999/manifest/").status_code == 404


@pytest.mark.parametrize("query", [{}, {"format": "xlsx"}, {"format": "csv", "since": "soon"}])
def test_it_refuses_a_download_it_cannot_stream(auditor, query):
    response = api_client(auditor).get(EXPORT, query)

    assert response.status_code == 400
    assert not ExportJob.objects.exists()
    assert not AuditEvent.objects.filter(action=LogAction.DOWNLOADED).exists()


@pytest.mark.parametrize("path", [AUDIT, "piece"])
def test_it_lists_events_in_a_constant_number_of_queries(auditor, drafter, officer, path):
    document = factories.submitted_document(drafter=drafter)
    path = f"/api/v1/documents/{document.pk}/audit/" if path == "piece" else path
    client = api_client(auditor)
    client.get(path)  # the first request warms the content type cache
    with CaptureQueriesContext(connection) as few:
        client.get(path)

    for _ in range(3):
        api_client(drafter).patch(f"/api/v1/documents/{document.pk}/", {}, format="json")  # refused: logged
        factories.approve_by(factories.submitted_document(drafter=drafter), officer)
    with CaptureQueriesContext(connection) as many:
        response = client.get(path)

    assert response.status_code == 200
    assert len(many) == len(few)
