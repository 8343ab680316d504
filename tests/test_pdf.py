"""The PDF machinery: the shipped font, page numbers, and long listings laid out in parts."""

import io
import json
import os
import re
import subprocess
import sys
import textwrap

import pytest
from django.conf import settings
from pypdf import PdfReader

from audit import pdf
from audit.models import AuditEvent
from review.pdf import signoff_sheet_pdf
from tests import factories
from tests.factories import zh

EMPTY_FONTCONFIG = """<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
<fontconfig><cachedir>{cache}</cachedir></fontconfig>
"""

# Render a sheet from plain values (no database needed) and print the PDF's text and fonts as JSON.
RENDER_WITHOUT_SYSTEM_FONTS = textwrap.dedent(
    """
    import io, json, sys
    import django
    django.setup()
    from pypdf import PdfReader
    from audit.pdf import render_pdf
    document = {"pk": 7, "title": "关于开展冬季流感疫苗接种工作的通知", "department": "公共卫生科"}
    code = "0123456789abcdef0123-0123456789"
    content = render_pdf("review/pdf/signoff_sheet.html", {"document": document, "code": code})
    reader = PdfReader(io.BytesIO(content))
    fonts = [font.get_object() for font in reader.pages[0]["/Resources"]["/Font"].values()]
    json.dump({
        "text": reader.pages[0].extract_text(),
        "fonts": [str(font["/BaseFont"]) for font in fonts],
        "embedded": [
            "/FontFile2" in font["/DescendantFonts"][0].get_object()["/FontDescriptor"] for font in fonts
        ],
    }, sys.stdout, ensure_ascii=False)
    """
)


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def embedded_fonts(content: bytes) -> set[str]:
    names = set()
    for page in PdfReader(io.BytesIO(content)).pages:
        names.update(str(font.get_object()["/BaseFont"]) for font in page["/Resources"]["/Font"].values())
    return names


def test_it_ships_the_font_and_its_licence():
    assert pdf.FONT_FILE.is_file()
    assert pdf.FONT_FILE.stat().st_size > 4_000_000
    licence = (pdf.FONT_DIR / "LICENSE").read_text()
    assert "WenQuanYi Micro Hei" in licence
    assert "Apache-2.0" in licence
    assert "Apache License" in (pdf.FONT_DIR / "LICENSE-Apache-2.0.txt").read_text()


def test_it_renders_chinese_without_any_system_font(tmp_path):
    """With Fontconfig shown no fonts at all, Chinese still renders, in the shipped font, and reads back."""
    config = tmp_path / "fonts.conf"
    config.write_text(EMPTY_FONTCONFIG.format(cache=tmp_path / "cache"))
    environment = {**os.environ, "FONTCONFIG_FILE": str(config), "DJANGO_SETTINGS_MODULE": "config.settings"}

    result = subprocess.run(
        [sys.executable, "-c", RENDER_WITHOUT_SYSTEM_FONTS],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    # WeasyPrint says so when Fontconfig has no fonts: the system's CJK font really was out of sight.
    assert "No fonts configured in FontConfig" in result.stderr
    found = json.loads(result.stdout)
    assert "关于开展冬季流感疫苗接种工作的通知" in found["text"]
    assert "公共卫生科" in found["text"]
    assert "0123456789abcdef0123-0123456789" in found["text"]
    assert found["fonts"] and all(name.endswith("+Imprimatur-Sans") for name in found["fonts"])
    assert all(found["embedded"])


def test_it_embeds_only_the_shipped_font(db, drafter, officer):
    document = factories.approved_document(officer, drafter=drafter, title="疫苗接种通知")

    content = signoff_sheet_pdf(document)

    # A subset (a 6-letter tag, then the family the stylesheet gives the shipped font); no other font.
    assert {re.sub(r"^/[A-Z]{6}\+", "", name) for name in embedded_fonts(content)} <= {
        "Imprimatur-Sans",
        "Imprimatur-Sans-Bold",
    }
    assert "疫苗接种通知" in pdf_text(content)


def test_it_numbers_pages_with_the_total_and_prints_the_time(db):
    content = pdf.render_pdf("review/pdf/signoff_sheet.html", {"document": {"pk": 1, "title": "通知"}})

    text = pdf_text(content)
    # The sheet ends with the text signed, on a page of its own: every page carries its number and the total.
    pages = len(PdfReader(io.BytesIO(content)).pages)
    for page in range(1, pages + 1):
        assert zh("Page %(page)s of %(pages)s", page=page, pages=pages) in text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d CST \(UTC\+08:00\)", text)


def test_it_keeps_user_text_from_loading_files(db, drafter, officer):
    """Titles are text: markup in them is printed, never fetched (and only the shipped fonts could be)."""
    title = '<img src="file:///etc/passwd"> 通知'
    document = factories.approved_document(officer, drafter=drafter, title=title)

    text = pdf_text(signoff_sheet_pdf(document))

    assert title in text
    fonts = pdf.FONT_DIR.as_uri()
    for url in [
        "file:///etc/passwd",
        f"{fonts}/../../config/settings.py",
        f"{fonts}/%2e%2e/pdf.py",
        "https://example.org/",
    ]:
        with pytest.raises(ValueError):
            pdf.ShippedFilesOnly().fetch(url)
    assert pdf.ShippedFilesOnly().fetch(pdf.FONT_FILE.as_uri()).read(4) == b"\x00\x01\x00\x00"


def test_it_writes_a_long_audit_log_in_parts_numbered_on(db, monkeypatch, drafter, officer, head, leader):
    monkeypatch.setattr(pdf, "AUDIT_ROWS_PER_PART", 4)
    factories.approved_document(officer, head, leader, drafter=drafter, title="冬季流感疫苗接种通知")
    events = AuditEvent.objects.order_by("sequence")
    total = events.count()
    assert total > 8  # so the listing takes three parts or more
    done = []
    output = io.BytesIO()

    pdf.write_audit_pdf(events, {"format": "pdf", "row_count": total, "filters": {}}, output, progress=done.append)

    assert done == [*range(4, total, 4), total]
    reader = PdfReader(io.BytesIO(output.getvalue()))
    pages = len(reader.pages)
    assert pages >= 3
    for number, page in enumerate(reader.pages, start=1):
        text = page.extract_text()
        # Each part numbers on from the last; the total is stamped on every page at the end.
        assert zh("Page %(page)s", page=number) in text
        assert zh("of %(pages)s", pages=pages) in text
    text = pdf_text(output.getvalue())
    assert "冬季流感疫苗接种通知" in text
    assert "李信" in text
    for event in events:
        assert f"#{event.sequence} " in text
        assert event.hash in text.replace("\n", "")
    assert text.count(zh("Audit log")) == 1  # the heading and manifest come once, at the start


def test_it_writes_an_empty_audit_log(db):
    output = io.BytesIO()

    pdf.write_audit_pdf(AuditEvent.objects.none(), {"row_count": 0, "head_hash": "0" * 64}, output)

    text = pdf_text(output.getvalue())
    assert zh("No events match these filters.") in text
    assert "0" * 64 in text
    assert zh("Page %(page)s", page=1) in text


def test_it_turns_translated_messages_into_css_content():
    assert pdf.counter_content("第 %(page)s 页 / 共 %(pages)s 页", page="counter(page)", pages="counter(pages)") == (
        '"第 " counter(page) " 页 / 共 " counter(pages) " 页"'
    )
    assert pdf.counter_content("Page %(page)s", page="counter(page)") == '"Page " counter(page)'
    assert pdf.css_string('a "b" \\ </style>') == '"a \\"b\\" \\\\ \\3c /style>"'
