"""PDFs made with WeasyPrint from Django templates, in the CJK font shipped in audit/fonts/.

They live here, in the lowest layer, because the audit log's own PDF needs them; the sign-off sheets and the
register (review.pdf) are made the same way.

Every PDF uses one stylesheet (templates/pdf/pdf.css) whose @font-face points at the shipped font
by a file:// URL, so Chinese renders the same with or without fonts installed on the server. The fetcher
refuses every other URL: the templates embed what they show (the QR code is inline SVG), and no text
from a user can make WeasyPrint read a file or call out over the network.

Long listings (the audit log, the register) are laid out a few thousand rows per WeasyPrint document, so
memory stays bounded, and the parts are joined with pypdf. Each part numbers its pages on from the last
(CSS counters); the total, known only at the end, is then stamped on every page.
"""

import io
import itertools
import json
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from pypdf import PageObject, PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, NameObject
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from . import labels

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FONT_FILE = FONT_DIR / "WenQuanYiMicroHei.ttf"
# The family name the stylesheet gives the shipped font; PDFs name their embedded subset after it.
FONT_FAMILY = "Imprimatur Sans"
STYLESHEET = "pdf/pdf.css"

AUDIT_ROWS_PER_PART = 2500
STAMP_NAME = "/ImprimaturPageTotal"


class ShippedFilesOnly(URLFetcher):
    """Fetch the shipped font files and nothing else."""

    def fetch(self, url, headers=None):
        parts = urlsplit(url)
        path = Path(url2pathname(unquote(parts.path))).resolve()
        if parts.scheme != "file" or parts.netloc not in ("", "localhost") or not path.is_relative_to(FONT_DIR):
            raise ValueError(f"PDFs may only load the shipped fonts, not {url!r}")
        return super().fetch(path.as_uri(), headers)


def css_string(text: str) -> str:
    """Return `text` as a quoted CSS string that is also safe inside a <style> element."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\a ").replace("<", "\\3c ")
    return f'"{escaped}"'


def counter_content(message: str, **counters: str) -> str:
    """Return a CSS `content` value for a translated message whose placeholders are CSS counters.

    counter_content("第 %(page)s 页", page="counter(page)") == '"第 " counter(page) " 页"'
    """
    pieces = re.split(r"%\((\w+)\)s", message)  # text, name, text, name, ..., text
    parts = [counters[piece] if index % 2 else css_string(piece) for index, piece in enumerate(pieces) if piece]
    return " ".join(parts)


def zoned(value) -> str:
    """Return a moment as PDFs print it, short enough for a table cell: '2026-11-29 14:03 CST (UTC+08:00)'."""
    if not value:
        return ""
    local = timezone.localtime(value)
    return f"{local:%Y-%m-%d %H:%M} {local:%Z} (UTC{local:%:z})"


def printed_stamp() -> str:
    """Return 'Printed <now>' for the foot of every page, with the time zone and its UTC offset."""
    return _("Printed %(time)s") % {"time": zoned(timezone.now())}


def _page_context(*, part: str, first_page: int = 1, total_pages: int | None = None) -> dict:
    """Return the stylesheet's settings for a whole document, one part of a long one, or the total stamp."""
    if part == "whole":
        numbers = counter_content(_("Page %(page)s of %(pages)s"), page="counter(page)", pages="counter(pages)")
    elif part == "part":
        numbers = counter_content(_("Page %(page)s"), page="counter(page)")
    else:
        numbers = css_string(_("of %(pages)s") % {"pages": total_pages})
    return {
        "font_family": mark_safe(css_string(FONT_FAMILY)),
        "font_url": mark_safe(css_string(FONT_FILE.as_uri())),
        "printed": mark_safe(css_string(printed_stamp())),
        "page_numbers": mark_safe(numbers),
        "part": part,
        "first_page": int(first_page),
    }


def _html(template_name: str, context: dict) -> HTML:
    context = {
        "language_code": translation.get_language() or "zh-hans",
        "time_zone": timezone.get_current_timezone_name(),
        **context,
    }
    context.setdefault("stylesheet", mark_safe(render_to_string(STYLESHEET, context)))
    return HTML(
        string=render_to_string(template_name, context),
        base_url=FONT_DIR.as_uri() + "/",
        url_fetcher=ShippedFilesOnly(),
    )


def render_pdf(template_name: str, context: dict) -> bytes:
    """Return the PDF of a template (which extends pdf/base.html): A4, numbered 'page N of M'."""
    font_config = FontConfiguration()
    html = _html(template_name, {**context, **_page_context(part="whole")})
    return html.write_pdf(font_config=font_config)


def write_in_parts(
    template_name: str,
    context: dict,
    rows: Iterable,
    output,
    *,
    rows_per_part: int,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Write a long listing to `output`, laying out `rows_per_part` rows per WeasyPrint document.

    The template gets `rows` (this part's) and `first_part`; pages are numbered on across the parts.
    """
    font_config = FontConfiguration()  # shared by the parts: the font is loaded once
    writer = PdfWriter()
    next_page, rows_done = 1, 0
    parts = itertools.batched(rows, rows_per_part)
    # An empty listing still makes one part: its heading and a line saying there is nothing to list.
    for number, part_rows in enumerate(itertools.chain([next(parts, ())], parts)):
        page_context = _page_context(part="part", first_page=next_page)
        part_context = {"rows": part_rows, "first_part": number == 0, "row_offset": rows_done}
        html = _html(template_name, {**context, **page_context, **part_context})
        document = html.render(font_config=font_config)
        writer.append(PdfReader(io.BytesIO(document.write_pdf())))
        next_page += len(document.pages)
        rows_done += len(part_rows)
        del document  # let this part's layout go before the next one is made
        if progress and part_rows:
            progress(rows_done)
    stamp_html = _html("pdf/base.html", {**context, **_page_context(part="stamp", total_pages=next_page - 1)})
    _stamp_every_page(writer, PdfReader(io.BytesIO(stamp_html.write_pdf(font_config=font_config))).pages[0])
    writer.add_metadata({"/Title": str(context.get("title", "")), "/Creator": "Imprimatur"})
    writer.write(output)


def _stamp_every_page(writer: PdfWriter, stamp: PageObject) -> None:
    """Draw `stamp` (a one-page PDF's page of the same size) over every page, as one shared form XObject.

    pypdf's merge_page would copy the stamp's resources into each page and re-parse each page's
    content; this costs one small edit per page instead.
    """
    form = stamp[NameObject("/Contents")].get_object().clone(writer)
    form.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): ArrayObject(FloatObject(value) for value in stamp.mediabox),
            NameObject("/Resources"): stamp[NameObject("/Resources")].clone(writer),
        }
    )
    for page in writer.pages:
        resources = page[NameObject("/Resources")].get_object()
        xobjects = resources.setdefault(NameObject("/XObject"), DictionaryObject()).get_object()
        xobjects[NameObject(STAMP_NAME)] = form.indirect_reference
        contents = page[NameObject("/Contents")].get_object()
        streams = [item.get_object() for item in contents] if isinstance(contents, ArrayObject) else [contents]
        # Save the graphics state before the page's drawing and restore it after, so the stamp starts clean.
        _rewrite(streams[0], before=b"q\n")
        _rewrite(streams[-1], after=f"\nQ\n{STAMP_NAME} Do\n".encode())


def _rewrite(stream, *, before: bytes = b"", after: bytes = b"") -> None:
    stream.set_data(before + stream.get_data() + after)
    stream.decoded_self = None  # pypdf keeps the decoded copy otherwise: thousands of pages' worth


# The audit log.


def write_audit_pdf(events, manifest: dict, output, progress: Callable[[int], None] | None = None) -> None:
    """Write the audit events to the binary file `output` as PDF: the manifest first, then one entry per event.

    `progress(rows_done)` is called after each part of AUDIT_ROWS_PER_PART events.
    """
    names = manifest_labels()
    context = {
        "title": _("Audit log"),
        "manifest": [(key, names.get(key, key), _manifest_value(value)) for key, value in manifest.items()],
    }
    rows = (
        (event, _data_text(event.data), labels.label(event.actor_role), labels.label(event.from_state),
         labels.label(event.to_state))
        for event in events.iterator(chunk_size=AUDIT_ROWS_PER_PART)
    )  # fmt: skip
    write_in_parts(
        "audit/pdf/audit_log.html", context, rows, output, rows_per_part=AUDIT_ROWS_PER_PART, progress=progress
    )


def manifest_labels() -> dict[str, str]:
    """Return readable names for the keys audit.exports puts in a manifest (others show as they are)."""
    return {
        "export_id": _("Export number"),
        "status": _("Status"),
        "format": _("Format"),
        "file": _("File"),
        "filters": _("Filters"),
        "row_count": _("Events"),
        "first_sequence": _("First event"),
        "last_sequence": _("Last event"),
        "head_sequence": _("Chain head (event)"),
        "head_hash": _("Chain head (hash)"),
        "checkpoint": _("Newest signed checkpoint"),
        "sha256": _("File SHA-256"),
        "generated_at": _("Generated at"),
        "time_zone": _("Time zone"),
    }


def _manifest_value(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else "—"
    return str(value)


def _data_text(data) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True) if data else ""
