"""Downloads of the audit log: CSV, JSON Lines, XLSX and PDF, each vouched for by a manifest.

One writer per format serves the web downloads, the background task and `manage.py export_audit`. CSV and
JSON Lines are produced as a stream of byte chunks (constant memory, hashed as they go); XLSX and PDF are
written to a seekable file and hashed afterwards. Every export is bounded by the chain's head when it began,
and its manifest names that head and the newest signed checkpoint, so that the file and the manifest are
witnesses of the log kept outside the database.

JSON Lines carries every hashed field exactly as stored, so a reader can recompute the chain from it
(chain.py says how); CSV neutralises cells a spreadsheet would run as formulas, so it is for reading.
"""

import contextlib
import csv
import datetime
import hashlib
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import xlsxwriter
from django.core.files import File
from django.db.models import Count, ExpressionWrapper, F, Func, Max, Min, TextField, Value
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import chain, labels
from .chain import HASHED_FIELDS
from .models import AuditEvent, ChainHead, Checkpoint, ExportJob
from .pdf import write_audit_pdf

Format = ExportJob.Format

# Every hashed field, then the chain's own columns: enough to check the chain from the file alone.
COLUMNS = (*HASHED_FIELDS, "prev_hash", "hash", "signature")
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


def bounded(events, head: ChainHead):
    """Return `events` up to the chain's `head`, oldest first: what an export begun at that head holds."""
    return events.filter(sequence__lte=head.sequence).order_by("sequence")


def rows(events) -> Iterator[tuple]:
    """Yield the export columns of each event, `data` as its stored JSON text, reading the table in chunks."""
    # The stored text is already the canonical JSON that was hashed: reading it as text spares a parse per row.
    stored = events.annotate(data_text=ExpressionWrapper(F("data"), output_field=TextField()))
    return stored.values_list(*(name if name != "data" else "data_text" for name in COLUMNS)).iterator(
        chunk_size=CHUNK_ROWS
    )


_SEQUENCE, _CREATED_AT, _DATA = COLUMNS.index("sequence"), COLUMNS.index("created_at"), COLUMNS.index("data")


def plain_rows(events) -> Iterator[list]:
    """Yield each event's columns ready for a cell: the time in the local zone, the data as its JSON text.

    A missing actor or object is None, which the CSV and XLSX writers both leave empty.
    """
    zone = timezone.get_current_timezone()
    for row in rows(events):
        values = list(row)
        values[_CREATED_AT] = row[_CREATED_AT].astimezone(zone).isoformat(timespec="microseconds")
        yield values


def neutralised(values: list) -> list:
    """Return the cells with those a spreadsheet would run as a formula turned into text (a leading ')."""
    return ["'" + value if value.__class__ is str and value.startswith(FORMULA_TRIGGERS) else value for value in values]


# The columns whose text can come from people or requests. The others are numbers, the time, an address in one
# written form and hex digests, none of which can begin like a formula: checking them would only cost time.
FREE_TEXT = tuple(
    index
    for index, name in enumerate(COLUMNS)
    if name not in {"sequence", "created_at", "actor_id", "object_id", "ip_address", "prev_hash", "hash", "signature"}
)


def _neutralise_free_text(values: list) -> list:
    """Neutralise, in place, the cells of `values` that could hold a formula (see FREE_TEXT); return `values`."""
    for index in FREE_TEXT:
        if values[index].startswith(FORMULA_TRIGGERS):
            values[index] = "'" + values[index]
    return values


# Codes a reader wants in words: each gets a column of its own beside the codes, in the reader's language.
WORDED = tuple(COLUMNS.index(name) for name in ("action", "actor_role", "from_state", "to_state"))
_ACTION = COLUMNS.index("action")


def worded_headers() -> list[str]:
    """Return the headers of a CSV for people: every column's name, then the columns of codes in words."""
    return [
        *column_labels(),
        *(_("%(column)s, in words") % {"column": column_labels()[index]} for index in WORDED),
        _("Reason refused"),
    ]


def worded(values: list, words: dict[str, str]) -> list:
    """Return a row's cells followed by its codes in words and, for a refusal, its reason.

    `words` keeps the labels already looked up: a few codes cover the whole log.
    """
    reason = ""
    if values[_ACTION] == labels.Action.REFUSED:
        data = json.loads(values[_DATA])
        reason = (data.get("reasons") or {}).get(translation.get_language()) or data.get("reason", "")
    for code in (values[index] for index in WORDED):
        if code not in words:
            words[code] = labels.label(code) if code else ""
    return [*values, *(words[values[index]] for index in WORDED), reason]


def csv_chunks(events, tally: Tally, *, in_words: bool = False) -> Iterator[bytes]:
    """Yield the events as UTF-8 CSV (with a BOM, so Excel reads the Chinese), one chunk at a time.

    `in_words` makes the CSV a person reads (a download from the audit page): headers in the active language,
    and the codes of actions, roles and states also in words, in columns of their own after the codes.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(worded_headers() if in_words else COLUMNS)
    yield _hashed(UTF8_BOM + buffer.getvalue().encode(), tally)
    buffer.seek(0)
    buffer.truncate()
    words = {}
    for values in plain_rows(events):
        tally.count(values[_SEQUENCE])
        writer.writerow(neutralised(worded(values, words)) if in_words else _neutralise_free_text(values))
        if buffer.tell() >= CHUNK_BYTES:
            yield _hashed(buffer.getvalue().encode(), tally)
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield _hashed(buffer.getvalue().encode(), tally)


def jsonl_chunks(events, tally: Tally) -> Iterator[bytes]:
    """Yield the events as JSON Lines: one object per event, every hashed field as the chain hashes it.

    The database writes each line itself (json_line), several times quicker than encoding each row here.
    """
    records = events.annotate(json_line=json_line()).values_list("sequence", "json_line")
    lines, size = [], 0
    for sequence, line in records.iterator(chunk_size=CHUNK_ROWS):
        tally.count(sequence)
        lines.append(line)
        size += len(line) + 1
        if size >= CHUNK_BYTES:
            yield _hashed(("\n".join(lines) + "\n").encode(), tally)
            lines, size = [], 0
    if lines:
        yield _hashed(("\n".join(lines) + "\n").encode(), tally)


class JSONString(Func):
    """A text as a JSON string, escaped as Python's json.dumps(ensure_ascii=False) escapes it."""

    output_field = TextField()

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, function="json_quote", **extra)

    def as_postgresql(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, template="to_json(%(expressions)s)::text", **extra)


class UTCText(Func):
    """A stored time as chain.time_text writes it: UTC, to the microsecond, ending in Z."""

    output_field = TextField()

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, template=chain.time_text_sql("sqlite", "%(expressions)s"), **extra)

    def as_postgresql(self, compiler, connection, **extra):
        template = chain.time_text_sql("postgresql", "%(expressions)s")
        return super().as_sql(compiler, connection, template=template, **extra)


class Joined(Func):
    """Texts joined end to end with ||, flat (Concat nests pairs, too deep for SQLite's parser at this length)."""

    arg_joiner = " || "
    template = "(%(expressions)s)"
    output_field = TextField()


def json_line() -> Joined:
    """Return the expression of an event's JSON Lines record: exactly what json.dumps would write for it."""
    parts = []
    for name in COLUMNS:
        if name == "created_at":
            value = JSONString(UTCText(F(name)))
        elif name == "data":
            value = F(name)  # its canonical JSON text, as stored
        elif name in {"sequence", "actor_id", "object_id"}:
            value = Coalesce(Cast(F(name), TextField()), Value("null"))
        else:
            value = JSONString(F(name))
        parts += [Value(("{" if name == COLUMNS[0] else ",") + json.dumps(name) + ":"), value]
    return Joined(*parts, Value("}"))


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
    headers = column_labels()
    sheet, row_number = None, XLSX_SHEET_ROWS
    for values in plain_rows(events):
        if row_number >= XLSX_SHEET_ROWS:
            sheet_number = len(workbook.worksheets()) + 1
            sheet = workbook.add_worksheet(_("Audit log") if sheet_number == 1 else f"{_('Audit log')} {sheet_number}")
            sheet.write_row(0, 0, headers, bold)
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
        workbook.add_worksheet(_("Audit log")).write_row(0, 0, headers, bold)
    about = workbook.add_worksheet(_("Manifest"))
    summary = {**summary, "row_count": tally.row_count}
    summary.update(first_sequence=tally.first_sequence, last_sequence=tally.last_sequence)
    for number, (key, value) in enumerate(summary.items()):
        about.write_string(number, 0, key, bold)
        about.write_string(number, 1, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
    workbook.close()


def write_pdf(events, output, tally: Tally, *, summary: dict, progress: Callable[[int], None] | None = None) -> None:
    """Write the events to `output` as PDF (audit.pdf lays it out); the figures are counted beforehand."""
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


def latest_checkpoint() -> dict:
    """Return the newest signed checkpoint as a manifest shows it ({} before the first one)."""
    checkpoint = Checkpoint.objects.latest_signed()
    return checkpoint.describe() if checkpoint else {}


def build_manifest(
    *,
    format: str,
    filters: dict,
    row_count: int | None,
    first_sequence: int | None,
    last_sequence: int | None,
    head: ChainHead,
    checkpoint: dict,
    sha256: str,
    file: str,
    generated_at: datetime.datetime | None,
    export_id: int | None = None,
    status: str = ExportJob.Status.DONE,
) -> dict:
    """Return the manifest of an export: what it holds, the chain head and checkpoint it stops at, its hash."""
    return {
        "export_id": export_id,
        "status": status,
        "format": format,
        "file": file,
        "filters": filters,
        "row_count": row_count,
        "first_sequence": first_sequence,
        "last_sequence": last_sequence,
        "head_sequence": head.sequence,
        "head_hash": head.hash,
        "checkpoint": checkpoint,
        "sha256": sha256,
        "generated_at": timezone.localtime(generated_at).isoformat() if generated_at else None,
        "time_zone": timezone.get_current_timezone_name(),
    }


def job_manifest(job: ExportJob) -> dict:
    """Return the manifest that vouches for an export job's file."""
    return build_manifest(
        format=job.format,
        filters=job.filters,
        row_count=job.row_count,
        first_sequence=job.first_sequence,
        last_sequence=job.last_sequence,
        head=job.head,
        checkpoint=job.checkpoint,
        sha256=job.sha256,
        file=job.download_name,
        generated_at=job.finished_at,
        export_id=job.pk,
        status=job.status,
    )


def _summary(filters: dict, format: str, head: ChainHead, checkpoint: dict) -> dict:
    """Return what is known of an export before it is written (for the XLSX and PDF manifest pages)."""
    return {
        "format": format, "filters": filters, "head_sequence": head.sequence, "head_hash": head.hash,
        "checkpoint": checkpoint,
    }  # fmt: skip


def record_download(*, format: str, filters: dict, actor=None, actor_role: str = "", **data) -> AuditEvent:
    """Write the audit event of a download of the audit log."""
    return AuditEvent.objects.record(
        action=labels.Action.DOWNLOADED,
        actor=actor,
        actor_role=actor_role,
        data={"format": format, "filters": filters, **data},
    )


def open_job(job: ExportJob) -> ExportJob:
    """Fix an export's bounds: the chain's head and newest checkpoint now.

    A streamed export is a download from this moment, so it is recorded first: the head then covers the
    record of the download itself.
    """
    head = AuditEvent.objects.head()
    job.head_sequence, job.head_hash, job.checkpoint = head.sequence, head.hash, latest_checkpoint()
    if job.is_streamed:
        job.status = ExportJob.Status.RUNNING
    job.save(update_fields=["status", "head_sequence", "head_hash", "checkpoint"])
    return job


def stream_job(job: ExportJob, events) -> Iterator[bytes]:
    """Yield a streamed export's bytes; when the last one is sent, record the figures on the job."""
    tally = Tally()
    events = bounded(events, job.head)
    if job.format == Format.CSV and job.language:
        chunks = _in_language(job.language, csv_chunks(events, tally, in_words=True))
    else:
        chunks = STREAMS[job.format](events, tally)
    try:
        yield from chunks
    except GeneratorExit:
        job.mark_failed(_("The download was interrupted after %(rows)s rows.") % {"rows": tally.row_count})
        raise
    except Exception as error:
        job.mark_failed(str(error))
        raise
    _finish(job, tally)


def _in_language(language: str, chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Yield `chunks`, each made in `language`: a streamed response is read after its view has returned."""
    while True:
        with translation.override(language):
            chunk = next(chunks, None)
        if chunk is None:
            return
        yield chunk


def _finish(job: ExportJob, tally: Tally) -> None:
    job.mark_done(
        row_count=tally.row_count, first_sequence=tally.first_sequence, last_sequence=tally.last_sequence,
        sha256=tally.sha256,
    )  # fmt: skip


def run_job(job: ExportJob, events) -> None:
    """Write a file export and record its figures (called by the background task)."""
    jobs = ExportJob.objects.filter(pk=job.pk)
    jobs.update(status=ExportJob.Status.RUNNING)
    try:
        events = bounded(events, job.head)
        jobs.update(rows_total=events.count())
        summary = _summary(job.filters, job.format, job.head, job.checkpoint)
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
    _finish(job, tally)


def export_to_path(*, format: str, events, described: dict, path) -> dict:
    """Write `events` to `path` and the manifest to `path`.manifest.json; return the manifest.

    Both are written beside their final names and renamed into place once complete, so a failure part-way
    leaves no truncated file behind.
    """
    record_download(format=format, filters=described, command="export_audit", output=str(path))
    head, checkpoint = AuditEvent.objects.head(), latest_checkpoint()
    path = Path(path)
    manifest_path = path.with_name(f"{path.name}.manifest.json")
    with _replacing(path, "w+b") as output:
        tally = write_export(
            format, bounded(events, head), output, summary=_summary(described, format, head, checkpoint)
        )
    manifest = build_manifest(
        format=format, filters=described, row_count=tally.row_count, first_sequence=tally.first_sequence,
        last_sequence=tally.last_sequence, head=head, checkpoint=checkpoint, sha256=tally.sha256, file=path.name,
        generated_at=timezone.now(),
    )  # fmt: skip
    with _replacing(manifest_path, "w", encoding="utf-8") as out:
        json.dump(manifest, out, ensure_ascii=False, indent=2)
        out.write("\n")
    return manifest


@contextlib.contextmanager
def _replacing(path: Path, mode: str, **kwargs):
    """Open a temporary file beside `path`; rename it to `path` when complete, remove it on failure."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(descriptor, mode, **kwargs) as file:
            yield file
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
