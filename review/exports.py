"""Downloads of the audit log: CSV, JSON Lines, XLSX and PDF, each vouched for by a manifest.

One writer per format serves the web downloads, the background task and `manage.py export_audit`.
CSV and JSON Lines are produced as a stream of byte chunks (constant memory, hashed as they go); XLSX
and PDF are written to a seekable file and hashed afterwards. Every export is bounded by the chain's
head when it began, so its manifest names a head hash that covers every row in the file.

JSON Lines carries every hashed field exactly as stored, so a reader can recompute the chain from it;
CSV neutralises cells that a spreadsheet would run as formulas, so it is for reading, not re-hashing.
"""

import csv
import datetime
import hashlib
import io
import json
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import xlsxwriter
from django.core.files import File
from django.db import transaction
from django.db.models import Count, Max, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership

from .audit import GENESIS_HASH, HASHED_FIELDS
from .forms import AuditFilterForm
from .models import AuditEvent, ExportJob

Format = ExportJob.Format

# Every hashed field, then the event's own hash: enough to check the chain from the file alone.
COLUMNS = (*HASHED_FIELDS, "hash")
CHUNK_ROWS = 2000
CHUNK_BYTES = 64 * 1024
PROGRESS_EVERY = 5000
# Excel's limit is 1,048,576 rows a sheet; one of them is the header.
XLSX_SHEET_ROWS = 1_048_575
# What a spreadsheet takes for the start of a formula, full-width forms included (Chinese input methods type them).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
UTF8_BOM = "\ufeff".encode()

CONTENT_TYPES = {
    Format.CSV: "text/csv; charset=utf-8",
    Format.JSONL: "application/jsonl; charset=utf-8",
    Format.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    Format.PDF: "application/pdf",
}


@dataclass(frozen=True)
class ChainHead:
    sequence: int
    hash: str


def chain_head() -> ChainHead:
    """Return the newest event's sequence and hash (0 and the genesis hash for an empty log)."""
    head = AuditEvent.objects.order_by("-sequence").values("sequence", "hash").first()
    return ChainHead(head["sequence"], head["hash"]) if head else ChainHead(0, GENESIS_HASH)


@dataclass
class Tally:
    """Count the rows written and hash the bytes, as they go."""

    row_count: int = 0
    first_sequence: int | None = None
    last_sequence: int | None = None
    digest: "hashlib._Hash" = field(default_factory=hashlib.sha256)

    def count(self, sequence: int) -> None:
        if self.first_sequence is None:
            self.first_sequence = sequence
        self.last_sequence = sequence
        self.row_count += 1

    @property
    def sha256(self) -> str:
        return self.digest.hexdigest()


def events_for(filters: dict, head: ChainHead):
    """Return the events an export holds: those matching `filters`, up to `head`, oldest first."""
    return AuditEvent.objects.matching(**filters).filter(sequence__lte=head.sequence).order_by("sequence")


def parse_filters(described: dict) -> dict:
    """Turn filters stored as strings (AuditFilterForm.describe()) back into matching() arguments."""
    form = AuditFilterForm(data=described)
    if not form.is_valid():
        raise ValueError(_("The export's filters are no longer valid: %(errors)s") % {"errors": form.errors.as_text()})
    return form.filters()


def rows(events) -> Iterator[tuple]:
    """Yield the export columns of each event, reading the table in chunks."""
    return events.values_list(*COLUMNS).iterator(chunk_size=CHUNK_ROWS)


_SEQUENCE, _CREATED_AT, _DATA = COLUMNS.index("sequence"), COLUMNS.index("created_at"), COLUMNS.index("data")


def plain_rows(events) -> Iterator[list]:
    """Yield each event's columns ready for a cell: the time in the local zone, the data as JSON text, no None."""
    zone = timezone.get_current_timezone()
    for row in rows(events):
        values = ["" if value is None else value for value in row]
        values[_CREATED_AT] = row[_CREATED_AT].astimezone(zone).isoformat(timespec="microseconds")
        values[_DATA] = json.dumps(row[_DATA], ensure_ascii=False, sort_keys=True)
        yield values


def neutralised(values: list) -> list:
    """Return the cells with those a spreadsheet would run as a formula turned into text (a leading ')."""
    return ["'" + value if value.__class__ is str and value.startswith(FORMULA_TRIGGERS) else value for value in values]


def csv_chunks(events, tally: Tally) -> Iterator[bytes]:
    """Yield the events as UTF-8 CSV (with a BOM, so Excel reads the Chinese), one chunk at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    yield _hashed(UTF8_BOM + buffer.getvalue().encode(), tally)
    buffer.seek(0)
    buffer.truncate()
    for values in plain_rows(events):
        tally.count(values[_SEQUENCE])
        writer.writerow(neutralised(values))
        if buffer.tell() >= CHUNK_BYTES:
            yield _hashed(buffer.getvalue().encode(), tally)
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield _hashed(buffer.getvalue().encode(), tally)


def jsonl_chunks(events, tally: Tally) -> Iterator[bytes]:
    """Yield the events as JSON Lines, one object per event with every hashed field as stored."""
    zone = timezone.get_current_timezone()
    lines, size = [], 0
    for row in rows(events):
        tally.count(row[_SEQUENCE])
        record = dict(zip(COLUMNS, row, strict=True))
        record["created_at"] = record["created_at"].astimezone(zone).isoformat(timespec="microseconds")
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        lines.append(line)
        size += len(line)
        if size >= CHUNK_BYTES:
            yield _hashed("".join(lines).encode(), tally)
            lines, size = [], 0
    if lines:
        yield _hashed("".join(lines).encode(), tally)


def _hashed(chunk: bytes, tally: Tally) -> bytes:
    tally.digest.update(chunk)
    return chunk


STREAMS = {Format.CSV: csv_chunks, Format.JSONL: jsonl_chunks}


def column_labels() -> list[str]:
    """Return the columns' names in the reader's language, for the XLSX and PDF headers."""
    return [str(AuditEvent._meta.get_field(name).verbose_name) for name in COLUMNS]


def write_xlsx(events, output, tally: Tally, *, summary: dict, progress: Callable[[int], None] | None = None) -> None:
    """Write the events to `output` as XLSX, holding one row in memory at a time."""
    workbook = xlsxwriter.Workbook(
        output,
        {
            "constant_memory": True,
            # Cells hold what was recorded: never a formula, a link or a number guessed from text.
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "tmpdir": tempfile.gettempdir(),
        },
    )
    bold = workbook.add_format({"bold": True})
    labels = column_labels()
    sheet, row_number = None, XLSX_SHEET_ROWS
    for values in plain_rows(events):
        if row_number >= XLSX_SHEET_ROWS:
            sheet_number = len(workbook.worksheets()) + 1
            sheet = workbook.add_worksheet(_("Audit log") if sheet_number == 1 else f"{_('Audit log')} {sheet_number}")
            sheet.write_row(0, 0, labels, bold)
            sheet.freeze_panes(1, 0)
            row_number = 0
        row_number += 1
        tally.count(values[_SEQUENCE])
        for column, value in enumerate(values):
            if isinstance(value, int):
                sheet.write_number(row_number, column, value)
            elif value:
                sheet.write_string(row_number, column, value)
        if progress and tally.row_count % PROGRESS_EVERY == 0:
            progress(tally.row_count)
    if sheet is None:
        workbook.add_worksheet(_("Audit log")).write_row(0, 0, labels, bold)
    about = workbook.add_worksheet(_("Manifest"))
    summary = {**summary, "row_count": tally.row_count}
    summary.update(first_sequence=tally.first_sequence, last_sequence=tally.last_sequence)
    for number, (key, value) in enumerate(summary.items()):
        about.write_string(number, 0, key, bold)
        about.write_string(number, 1, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
    workbook.close()


def write_pdf(events, output, tally: Tally, *, summary: dict, progress: Callable[[int], None] | None = None) -> None:
    """Write the events to `output` as PDF (review.pdf lays it out); the figures are counted beforehand."""
    from .pdf import write_audit_pdf

    figures = events.order_by().aggregate(rows=Count("pk"), first=Min("sequence"), last=Max("sequence"))
    tally.row_count, tally.first_sequence, tally.last_sequence = figures["rows"], figures["first"], figures["last"]
    manifest = {**summary, "row_count": tally.row_count}
    manifest.update(first_sequence=tally.first_sequence, last_sequence=tally.last_sequence)
    write_audit_pdf(events, manifest, output, progress=progress)


FILE_WRITERS = {Format.XLSX: write_xlsx, Format.PDF: write_pdf}


def write_export(format: str, events, output, *, summary: dict, progress=None) -> Tally:
    """Write the events to the binary file `output` (readable and seekable for XLSX and PDF) and tally them."""
    tally = Tally()
    if format in STREAMS:
        for chunk in STREAMS[format](events, tally):
            output.write(chunk)
        return tally
    FILE_WRITERS[format](events, output, tally, summary=summary, progress=progress)
    output.flush()
    output.seek(0)
    # The zip container is patched in place as it is written, so the hash comes from reading it back.
    tally.digest = hashlib.file_digest(output, "sha256")
    return tally


def build_manifest(
    *,
    format: str,
    filters: dict,
    row_count: int | None,
    first_sequence: int | None,
    last_sequence: int | None,
    head_sequence: int | None,
    head_hash: str,
    sha256: str,
    file: str,
    generated_at: datetime.datetime | None,
    export_id: int | None = None,
    status: str = ExportJob.Status.DONE,
) -> dict:
    """Return the manifest of an export: what it holds, which chain head covers it, and its file's hash."""
    return {
        "export_id": export_id,
        "status": status,
        "format": format,
        "file": file,
        "filters": filters,
        "row_count": row_count,
        "first_sequence": first_sequence,
        "last_sequence": last_sequence,
        "head_sequence": head_sequence,
        "head_hash": head_hash,
        "sha256": sha256,
        "generated_at": timezone.localtime(generated_at).isoformat() if generated_at else None,
        "time_zone": timezone.get_current_timezone_name(),
    }


def _summary(filters: dict, format: str, head: ChainHead) -> dict:
    """Return what is known of an export before it is written (for the XLSX and PDF manifest pages)."""
    return {"format": format, "filters": filters, "head_sequence": head.sequence, "head_hash": head.hash}


# The web: a job per export.


def record_download(*, format: str, filters: dict, actor=None, **data) -> AuditEvent:
    """Write the audit event of a download of the audit log."""
    actor_role = ""
    if actor is not None and actor.memberships.filter(role=Membership.Role.AUDITOR).exists():
        actor_role = Membership.Role.AUDITOR
    return AuditEvent.objects.record(
        action=AuditEvent.Action.DOWNLOADED,
        actor=actor,
        actor_role=actor_role,
        data={"format": format, "filters": filters, **data},
    )


@transaction.atomic
def start_export(*, user, format: str, filters: dict) -> ExportJob:
    """Open an export of the log filtered by `filters` (AuditFilterForm.describe()).

    A streamed export is a download from this moment, so it is logged now, before its head is taken:
    the manifest's head then covers the record of the download itself. A file export is written by a
    background task once this transaction commits, and logged each time its file is fetched.
    """
    job = ExportJob.objects.create(requested_by=user, format=format, filters=filters)
    if job.is_streamed:
        record_download(format=format, filters=filters, actor=user, export_job=job.pk)
        job.status = ExportJob.Status.RUNNING
    head = chain_head()
    job.head_sequence, job.head_hash = head.sequence, head.hash
    job.save(update_fields=["status", "head_sequence", "head_hash"])
    if not job.is_streamed:
        from .tasks import export_audit_log

        transaction.on_commit(lambda: export_audit_log.enqueue(job.pk))
    return job


def _job_events(job: ExportJob):
    return events_for(parse_filters(job.filters), ChainHead(job.head_sequence, job.head_hash))


def stream_job(job: ExportJob) -> Iterator[bytes]:
    """Yield a streamed export's bytes; when the last one is sent, record the figures on the job."""
    tally = Tally()
    try:
        yield from STREAMS[job.format](_job_events(job), tally)
    except GeneratorExit:
        job.mark_failed(_("The download was interrupted after %(rows)s rows.") % {"rows": tally.row_count})
        raise
    except Exception as error:
        job.mark_failed(str(error))
        raise
    job.mark_done(
        row_count=tally.row_count,
        first_sequence=tally.first_sequence,
        last_sequence=tally.last_sequence,
        sha256=tally.sha256,
    )


def run_job(job: ExportJob) -> None:
    """Write a file export and record its figures (called by the background task)."""
    jobs = ExportJob.objects.filter(pk=job.pk)
    jobs.update(status=ExportJob.Status.RUNNING)
    try:
        events = _job_events(job)
        total = events.count()
        jobs.update(rows_total=total)
        summary = _summary(job.filters, job.format, ChainHead(job.head_sequence, job.head_hash))
        with tempfile.TemporaryFile() as output:
            tally = write_export(
                job.format, events, output, summary=summary, progress=lambda done: jobs.update(rows_done=done)
            )
            output.seek(0)
            job.file.save(f"audit-log-{job.pk}-{timezone.now():%Y%m%d%H%M%S}.{job.format}", File(output), save=False)
        job.save(update_fields=["file"])
    except Exception as error:
        job.mark_failed(str(error) or type(error).__name__)
        raise
    job.mark_done(
        row_count=tally.row_count,
        first_sequence=tally.first_sequence,
        last_sequence=tally.last_sequence,
        sha256=tally.sha256,
    )


# The command line: no job, the file and its manifest side by side.


def export_to_path(*, format: str, filters: dict, described: dict, path) -> dict:
    """Write the filtered log to `path` and its manifest to `path`.manifest.json; return the manifest."""
    record_download(format=format, filters=described, command="export_audit", output=str(path))
    head = chain_head()
    with open(path, "w+b") as output:
        tally = write_export(format, events_for(filters, head), output, summary=_summary(described, format, head))
    manifest = build_manifest(
        format=format,
        filters=described,
        row_count=tally.row_count,
        first_sequence=tally.first_sequence,
        last_sequence=tally.last_sequence,
        head_sequence=head.sequence,
        head_hash=head.hash,
        sha256=tally.sha256,
        file=Path(path).name,
        generated_at=timezone.now(),
    )
    with open(f"{path}.manifest.json", "w", encoding="utf-8") as out:
        json.dump(manifest, out, ensure_ascii=False, indent=2)
        out.write("\n")
    return manifest
