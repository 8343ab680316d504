"""Downloads of the audit log: the four formats, their manifests, the background job and the command."""

import csv
import datetime
import hashlib
import io
import json

import openpyxl
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.tasks import task_backends
from django.tasks.backends.immediate import ImmediateBackend
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import AuditAction as AccountsAction
from accounts.models import Membership
from audit import chain, exports
from audit.chain import GENESIS_HASH, HASHED_FIELDS, canonical, event_hash, sign
from audit.forms import events_matching
from audit.labels import Action as LogAction
from audit.models import AuditEvent, Checkpoint, ExportJob
from review.models import AuditAction
from tests import factories

CREATE = reverse("review:audit_export_create")
FORMULAS = ("=SUM(A1)", "@cmd", "+1", "-1", "\tx", "＝HYPERLINK()")


@pytest.fixture
def opinions(drafter, officer):
    """A piece with a Chinese title, and opinions a spreadsheet would take for formulas."""
    document = factories.submitted_document(drafter=drafter, title="关于开展流感疫苗接种的通知")
    for opinion in (*FORMULAS, "同意发布。"):
        AuditEvent.objects.record(
            action=AuditAction.APPROVED,
            actor=officer,
            obj=document,
            scope=str(document.department_id),
            comment=opinion,
        )
    return document


@pytest.fixture
def client(client_for, auditor):
    return client_for(auditor)


def download(client, export_format: str, **filters):
    response = client.post(CREATE, {"format": export_format, **filters})
    assert response.status_code == 200, response.status_code
    body = b"".join(response.streaming_content)
    return response, body


def manifest_of(client, response) -> dict:
    manifest = client.get(response["X-Export-Manifest"])
    assert manifest.status_code == 200
    return manifest.json()


def head() -> AuditEvent:
    return AuditEvent.objects.order_by("sequence").last()


def job_page(job: ExportJob) -> str:
    return reverse("review:audit_export", args=[job.pk])


def piece_criteria(document) -> dict:
    """What the auditor's "piece number" filter becomes in the audit log's own terms."""
    return {"object_type": "review.document", "object_id": str(document.pk)}


def test_it_runs_tasks_at_once_in_tests():
    assert isinstance(task_backends["default"], ImmediateBackend)


def test_it_streams_csv_with_a_bom_and_formulas_neutralised(client, opinions):
    response, body = download(client, "csv")
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith("attachment")
    assert body.startswith(b"\xef\xbb\xbf")
    header, *lines = csv.reader(io.StringIO(body.decode("utf-8-sig")))
    # For people: every column named in Chinese, the codes then in words; each code keeps its own column.
    assert header[:3] == ["序号", "时间", "操作人"]
    assert header[len(exports.COLUMNS) :] == [
        "操作（文字）",
        "操作人角色（文字）",
        "原状态（文字）",
        "新状态（文字）",
        "拒绝原因",
    ]
    assert list(exports.COLUMNS) == [*HASHED_FIELDS, "prev_hash", "hash", "signature"]
    rows = [dict(zip(exports.COLUMNS, line, strict=False)) for line in lines]
    approvals = [row["comment"] for row in rows if row["action"] == "approved"]
    assert approvals == ["'=SUM(A1)", "'@cmd", "'+1", "'-1", "'\tx", "'＝HYPERLINK()", "同意发布。"]
    assert any(row["object_repr"] == "关于开展流感疫苗接种的通知" for row in rows)
    assert any(row["actor_name"] == "李信" for row in rows)
    # The download is itself in the log, and in the file: the stream began after it was recorded.
    assert rows[-1]["action"] == "downloaded"
    assert [int(row["sequence"]) for row in rows] == list(range(1, head().sequence + 1))
    assert [row["hash"] for row in rows] == list(AuditEvent.objects.values_list("hash", flat=True))


def test_it_gives_a_manifest_that_vouches_for_the_csv(client, opinions):
    checkpoint = Checkpoint.sign_head()
    response, body = download(client, "csv")
    manifest = manifest_of(client, response)
    last = head()
    job = ExportJob.objects.get()
    assert manifest == {
        "export_id": job.pk,
        "status": "done",
        "format": "csv",
        "file": f"audit-log-{job.pk}.csv",
        "filters": {},
        "row_count": last.sequence,
        "first_sequence": 1,
        "last_sequence": last.sequence,
        "head_sequence": last.sequence,
        "head_hash": last.hash,
        "checkpoint": checkpoint.describe(),
        "sha256": hashlib.sha256(body).hexdigest(),
        "generated_at": manifest["generated_at"],
        "time_zone": "Asia/Shanghai",
    }
    # The newest checkpoint, signed before the download was recorded, vouches for an earlier head.
    assert manifest["checkpoint"]["sequence"] == last.sequence - 1
    assert datetime.datetime.fromisoformat(manifest["generated_at"]).utcoffset() == datetime.timedelta(hours=8)


def test_it_gives_an_empty_checkpoint_before_the_first_is_signed(client, opinions):
    response, _body = download(client, "csv")
    assert manifest_of(client, response)["checkpoint"] == {}


def test_it_records_the_download_before_streaming(client, auditor, opinions):
    response = client.post(CREATE, {"format": "csv", "action": "approved"})
    event = head()
    job = ExportJob.objects.get()
    assert factories.payload(event) == {
        "action": "downloaded",
        "actor": auditor,
        "actor_name": "孙丽",
        "actor_role": Membership.Role.AUDITOR.value,
        "from_state": "",
        "to_state": "",
        "comment": "",
        "data": {"format": "csv", "filters": {"action": "approved"}, "export_job": job.pk},
    }
    assert job.status == ExportJob.Status.RUNNING  # nothing sent yet
    assert (job.head_sequence, job.head_hash) == (event.sequence, event.hash)
    b"".join(response.streaming_content)
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE
    assert job.row_count == 7


def test_it_exports_only_the_filtered_events(client, opinions, drafter):
    response, body = download(client, "jsonl", action="approved", document=opinions.pk)
    records = [json.loads(line) for line in body.decode().splitlines()]
    assert [record["comment"] for record in records][:2] == ["=SUM(A1)", "@cmd"]
    assert {record["action"] for record in records} == {"approved"}
    assert {(record["object_type"], record["object_id"]) for record in records} == {("review.document", opinions.pk)}
    manifest = manifest_of(client, response)
    assert manifest["filters"] == {"action": "approved", **piece_criteria(opinions)}
    assert manifest["row_count"] == 7
    assert manifest["first_sequence"] == records[0]["sequence"]
    assert manifest["last_sequence"] == records[-1]["sequence"]
    assert manifest["head_sequence"] == head().sequence


def test_it_streams_json_lines_that_recompute_to_the_chain(client, opinions):
    response, body = download(client, "jsonl")
    assert response["Content-Type"].startswith("application/jsonl")
    lines = body.decode("utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert "关于开展流感疫苗接种的通知" in body.decode("utf-8")
    assert [record["sequence"] for record in records] == list(range(1, head().sequence + 1))
    prev_hash = GENESIS_HASH
    for record in records:
        values = {name: record[name] for name in HASHED_FIELDS}
        values["created_at"] = datetime.datetime.fromisoformat(record["created_at"])
        assert record["prev_hash"] == prev_hash
        assert event_hash(record["prev_hash"], canonical(values)) == record["hash"]
        assert sign(record["hash"]) == record["signature"]
        prev_hash = record["hash"]
    manifest = manifest_of(client, response)
    assert manifest["row_count"] == len(records)
    assert manifest["head_hash"] == prev_hash
    assert manifest["sha256"] == hashlib.sha256(body).hexdigest()


def test_it_marks_an_interrupted_stream_failed(auditor, opinions, monkeypatch):
    monkeypatch.setattr(exports, "CHUNK_BYTES", 1)
    job = exports.open_job(ExportJob.objects.create(requested_by=auditor, format="jsonl", filters={}))
    stream = exports.stream_job(job, events_matching(job.filters))
    next(stream)
    stream.close()  # what the server does when the browser goes away
    job.refresh_from_db()
    assert job.status == ExportJob.Status.FAILED
    assert job.error == factories.zh("The download was interrupted after %(rows)s rows.", rows=1)
    assert job.sha256 == ""


def test_it_writes_xlsx_in_the_background(client, auditor, opinions, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(CREATE, {"format": "xlsx", "document": opinions.pk})
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response.url == job_page(job)
    assert job.status == ExportJob.Status.DONE
    assert job.file.name.startswith("exports/audit-log-")
    # Requesting the file is not a download yet: nothing left the system.
    assert head().action != LogAction.DOWNLOADED

    page = client.get(response.url)
    download_url = reverse("review:audit_export_download", args=[job.pk])
    assert download_url in page.text
    assert 'hx-trigger="every 2s"' not in page.text

    fetched = client.get(download_url)
    assert fetched.status_code == 200
    assert fetched["Content-Disposition"] == f'attachment; filename="audit-log-{job.pk}.xlsx"'
    body = b"".join(fetched.streaming_content)
    assert hashlib.sha256(body).hexdigest() == job.sha256 == manifest_of(client, fetched)["sha256"]

    sheet = openpyxl.load_workbook(io.BytesIO(body)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 1 + job.row_count == 1 + AuditEvent.objects.about(opinions).count()
    comment = exports.COLUMNS.index("comment")
    assert [row[comment] for row in rows[1:] if row[comment]][:2] == ["=SUM(A1)", "@cmd"]
    formula_cell = sheet.cell(row=1 + [row[comment] for row in rows].index("=SUM(A1)"), column=comment + 1)
    assert formula_cell.data_type == "s"  # text, not a formula
    assert "关于开展流感疫苗接种的通知" in [row[exports.COLUMNS.index("object_repr")] for row in rows]

    event = head()
    assert factories.payload(event)["data"] == {
        "format": "xlsx",
        "filters": piece_criteria(opinions),
        "export_job": job.pk,
    }
    assert event.actor == auditor


def test_a_file_export_is_written_in_the_language_it_was_asked_in(client, opinions, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        client.post(CREATE, {"format": "xlsx", "document": opinions.pk}, headers={"accept-language": "en"})
    job = ExportJob.objects.get()
    assert job.language == "en"
    # The worker runs it later, in a process of its own: the site's language is active there.
    with translation.override(settings.LANGUAGE_CODE):
        [callback() for callback in callbacks]
    job.refresh_from_db()
    with job.file.open("rb") as file:
        sheet = openpyxl.load_workbook(file).worksheets[0]
    with translation.override("en"):
        english = tuple(exports.column_labels())
    assert (sheet.title, next(sheet.iter_rows(values_only=True))) == ("Audit log", english)
    assert english[:2] == ("sequence", "time")


def test_it_shows_progress_until_the_file_is_ready(client, auditor, opinions):
    # Without a commit the task has not run: the page polls.
    client.post(CREATE, {"format": "xlsx"})
    job = ExportJob.objects.get()
    assert job.status == ExportJob.Status.PENDING
    page = client.get(job_page(job))
    assert 'hx-trigger="every 2s"' in page.text
    assert reverse("review:audit_export_download", args=[job.pk]) not in page.text
    partial = client.get(job_page(job), headers={"HX-Request": "true"})
    assert partial.text.lstrip().startswith('<div id="export-status"')
    assert client.get(reverse("review:audit_export_download", args=[job.pk])).status_code == 404


def test_it_keeps_a_download_to_the_auditor_who_asked_for_it(
    client, client_for, opinions, drafter, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(CREATE, {"format": "xlsx"})
    job = ExportJob.objects.get()
    other_auditor = factories.make_user("auditor2", roles=[(factories.Role.AUDITOR, None)])
    admin = factories.make_user("admin")
    admin.is_superuser = True
    admin.save()
    urls = [
        job_page(job),
        reverse("review:audit_export_download", args=[job.pk]),
        reverse("review:audit_export_manifest", args=[job.pk]),
    ]
    for url in urls:
        assert client_for(other_auditor).get(url).status_code == 403
        assert client_for(drafter).get(url).status_code == 403
        assert client_for(admin).get(url).status_code == 200
    assert client.get(urls[0]).status_code == 200


def test_it_records_a_failed_export(client, opinions, monkeypatch, django_capture_on_commit_callbacks):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setitem(exports.FILE_WRITERS, ExportJob.Format.XLSX, broken)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(CREATE, {"format": "xlsx"})
    job = ExportJob.objects.get()
    assert job.status == ExportJob.Status.FAILED
    assert job.error == "disk full"
    assert "disk full" in client.get(job_page(job)).text


def test_it_refuses_downloads_to_people_without_the_auditor_role(client_for, drafter):
    assert client_for(drafter).post(CREATE, {"format": "csv"}).status_code == 403
    assert not ExportJob.objects.exists()


def test_it_refuses_get_and_unknown_formats(client, opinions):
    assert client.get(CREATE).status_code == 405
    response = client.post(CREATE, {"format": "docx", "action": "approved"})
    assert response.status_code == 302
    assert response.url == reverse("review:audit") + "?action=approved"
    assert not ExportJob.objects.exists()


@pytest.mark.parametrize("export_format", ["csv", "jsonl", "xlsx"])
def test_the_command_writes_the_file_and_its_manifest(tmp_path, opinions, export_format, capsys):
    checkpoint = Checkpoint.sign_head()
    path = tmp_path / f"audit.{export_format}"
    call_command("export_audit", "--format", export_format, "--output", str(path))
    manifest = json.loads((tmp_path / f"audit.{export_format}.manifest.json").read_text(encoding="utf-8"))
    last = head()
    assert manifest["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert manifest["row_count"] == last.sequence
    assert (manifest["first_sequence"], manifest["last_sequence"]) == (1, last.sequence)
    assert (manifest["head_sequence"], manifest["head_hash"]) == (last.sequence, last.hash)
    assert manifest["checkpoint"] == checkpoint.describe()
    assert manifest["format"] == export_format
    assert manifest["file"] == path.name
    assert factories.payload(last) == {
        "action": "downloaded",
        "actor": None,
        "actor_name": "",
        "actor_role": "",
        "from_state": "",
        "to_state": "",
        "comment": "",
        "data": {"format": export_format, "filters": {}, "command": "export_audit", "output": str(path)},
    }
    out = capsys.readouterr().out
    assert f"Wrote {last.sequence} events (#1–#{last.sequence})" in out
    assert manifest["sha256"] in out


def test_the_command_exports_a_period(tmp_path, auditor, monkeypatch):
    for day in (1, 2, 3):
        moment = timezone.make_aware(datetime.datetime(2026, 3, day, 12))
        monkeypatch.setattr(timezone, "now", lambda moment=moment: moment)
        AuditEvent.objects.record(action=AccountsAction.LOGIN, actor=auditor, data={"day": day})
    monkeypatch.undo()
    path = tmp_path / "march.jsonl"
    call_command("export_audit", "--format=jsonl", f"--output={path}", "--since=2026-03-02", "--until=2026-03-02")
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [record["data"] for record in records] == [{"day": 2}]
    manifest = json.loads(path.with_name("march.jsonl.manifest.json").read_text(encoding="utf-8"))
    assert manifest["filters"] == {"since": "2026-03-02", "until": "2026-03-02"}
    assert manifest["row_count"] == 1


def test_the_command_refuses_a_bad_period(tmp_path, db):
    with pytest.raises(CommandError):
        call_command("export_audit", "--format=csv", f"--output={tmp_path / 'x.csv'}", "--since=2026-13-01")
    with pytest.raises(CommandError):
        call_command(
            "export_audit", "--format=csv", f"--output={tmp_path / 'x.csv'}", "--since=2026-03-02", "--until=2026-03-01"
        )


def test_the_command_writes_a_pdf(tmp_path, opinions):
    pypdf = pytest.importorskip("pypdf")
    path = tmp_path / "audit.pdf"
    call_command("export_audit", "--format=pdf", f"--output={path}")
    manifest = json.loads(path.with_name("audit.pdf.manifest.json").read_text(encoding="utf-8"))
    assert manifest["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert manifest["row_count"] == head().sequence
    text = "".join(page.extract_text() for page in pypdf.PdfReader(path).pages)
    assert "SUM(A1)" in text


def test_it_writes_a_pdf_in_the_background(client, opinions, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(CREATE, {"format": "pdf", "action": "approved"})
    job = ExportJob.objects.get()
    assert job.status == ExportJob.Status.DONE, job.error
    fetched = client.get(reverse("review:audit_export_download", args=[job.pk]))
    body = b"".join(fetched.streaming_content)
    assert body.startswith(b"%PDF")
    assert hashlib.sha256(body).hexdigest() == job.sha256
    assert job.row_count == 7


# Awkward text in every column the exports write: what JSON and CSV escape or quote, and what opens a formula.
AWKWARD = 'say "hi", \\ back\tslash\r\nnew line \x01\x1f\x7f \u2028 😀 初审，'


@pytest.fixture
def awkward_events(drafter):
    document = factories.make_document(drafter=drafter, title=AWKWARD)
    AuditEvent.objects.record(
        action=AWKWARD, actor_role="=" + AWKWARD, obj=document, scope="-1", comment=AWKWARD, from_state="@x",
        data={"z": AWKWARD, "a": [1, -2, None, True], "n": {"b": "＝", "a": ""}},
    )  # fmt: skip
    AuditEvent.objects.record(action="login", comment="", data={})  # no actor, no object
    return AuditEvent.objects.order_by("sequence")


def test_json_lines_written_by_the_database_are_what_json_dumps_writes(awkward_events):
    tally = exports.Tally()
    body = b"".join(exports.jsonl_chunks(awkward_events, tally))
    expected = ""
    for event in awkward_events:
        record = {name: getattr(event, name) for name in exports.COLUMNS}
        record["created_at"] = chain.time_text(event.created_at)
        expected += json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
    assert body.decode() == expected
    assert tally.row_count == awkward_events.count()
    assert tally.sha256 == hashlib.sha256(body).hexdigest()


def test_the_csv_quotes_as_the_csv_module_does_and_neutralises_every_free_text_column(awkward_events):
    body = b"".join(exports.csv_chunks(awkward_events, exports.Tally()))
    header, *lines = csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""))
    assert header == list(exports.COLUMNS)
    rows = [dict(zip(exports.COLUMNS, line, strict=True)) for line in lines]
    awkward, login = rows[-2], rows[-1]
    event = awkward_events.get(sequence=int(awkward["sequence"]))
    assert awkward["comment"] == AWKWARD
    assert (awkward["object_repr"], awkward["action"]) == (event.object_repr, event.action)  # cut to their lengths
    assert (awkward["actor_role"], awkward["scope"], awkward["from_state"]) == ("'=" + AWKWARD, "'-1", "'@x")
    # The data as stored: the canonical JSON text that was hashed.
    assert awkward["data"] == chain.canonical_json(event.data)
    assert awkward["created_at"] == timezone.localtime(event.created_at).isoformat(timespec="microseconds")
    assert (login["actor_id"], login["object_id"], login["data"]) == ("", "", "{}")
    # Written as csv.writer writes the same cells (its quoting and its line ends).
    written = io.StringIO()
    csv.writer(written).writerows([header, *lines])
    assert body.decode("utf-8-sig") == written.getvalue()
