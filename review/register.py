"""The publication register (登记造册): one row per publication, for its page and its CSV and XLSX downloads.

The PDF is laid out by review.pdf.register_pdf from the same publications.
"""

import csv
import io

import xlsxwriter
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.exports import UTF8_BOM, neutralised

from .models import Publication


def column_labels() -> list[str]:
    """Return the register's column names in the reader's language."""
    zone = timezone.get_current_timezone_name()
    return [
        _("No."),
        _("Published at (%(zone)s)") % {"zone": zone},
        _("Channel"),
        _("Link"),
        _("Title"),
        _("Department"),
        _("Drafter"),
        _("Signed off by"),
        _("Publisher"),
        _("Piece number"),
    ]


def signers_text(publication: Publication) -> str:
    """Return who signed the published round, e.g. '初审 李信; 复审 王建国; 终审 陈志强'."""
    return "; ".join(f"{_(review.meaning)} {review.signed_as}" for review in publication.signatures())


def rows(publications):
    """Yield each publication's cells, numbered from 1: the time as a local datetime, the rest as text."""
    for number, publication in enumerate(publications, start=1):
        document = publication.document
        yield [
            number,
            timezone.localtime(publication.published_at),
            publication.get_channel_display(),
            publication.url,
            document.title,
            document.department.name,
            document.drafter.printed_name,
            signers_text(publication),
            publication.publisher.printed_name,
            document.pk,
        ]


def register_csv(publications) -> bytes:
    """Return the register as UTF-8 CSV with a BOM (so Excel reads the Chinese); no cell runs as a formula."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(column_labels())
    for cells in rows(publications):
        cells[1] = cells[1].isoformat(timespec="minutes")
        writer.writerow(neutralised(cells))
    return UTF8_BOM + buffer.getvalue().encode()


def register_xlsx(publications) -> bytes:
    """Return the register as an XLSX workbook: text cells stay text, times are real date cells."""
    output = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        output,
        {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False},
    )
    sheet = workbook.add_worksheet(_("Publication register"))
    bold = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    when = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm", "valign": "top"})
    text = workbook.add_format({"text_wrap": True, "valign": "top"})
    labels = column_labels()
    sheet.write_row(0, 0, labels, bold)
    for column, width in enumerate((6, 18, 14, 36, 40, 14, 10, 36, 10, 8)):
        sheet.set_column(column, column, width)
    sheet.freeze_panes(1, 0)
    count = 0
    for count, cells in enumerate(rows(publications), start=1):
        sheet.write_number(count, 0, cells[0])
        # Excel has no time zones: the local time, with the zone named in the header.
        sheet.write_datetime(count, 1, cells[1].replace(tzinfo=None), when)
        for column in range(2, 9):
            sheet.write_string(count, column, cells[column], text)
        sheet.write_number(count, 9, cells[9])
    sheet.autofilter(0, 0, count, len(labels) - 1)
    workbook.close()
    return output.getvalue()
