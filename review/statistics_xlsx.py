"""The statistics as an XLSX workbook: a sheet of totals (this period beside the one before) and one for each table
of the page."""

import io

import xlsxwriter
from django.utils.translation import gettext as _

from .statistics import Figures, row_figures, timing_figures


def statistics_xlsx(now: Figures, before: Figures, department=None) -> bytes:
    output = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        output,
        {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False},
    )
    bold = workbook.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    number = workbook.add_format({"num_format": "0.00"})

    def cell(sheet, row, column, value):
        if value is None:
            sheet.write_blank(row, column, None)
        elif isinstance(value, str):
            sheet.write_string(row, column, value)
        else:
            sheet.write_number(row, column, float(value), number if not isinstance(value, int) else None)

    summary = workbook.add_worksheet(_("Summary"))
    summary.write_row(0, 0, [_("Department"), department.name if department else _("All departments")], bold)
    summary.write_row(2, 0, ["", str(now.period), str(before.period)], bold)
    for index, (label, name) in enumerate(row_figures(), start=3):
        summary.write_string(index, 0, label)
        cell(summary, index, 1, getattr(now.total, name))
        cell(summary, index, 2, getattr(before.total, name))
    summary.set_column(0, 0, 34)
    summary.set_column(1, 2, 26)

    tables = [
        (_("Departments"), _("Department"), now.departments, row_figures()),
        (_("Drafters"), _("Drafter"), now.drafters, row_figures()),
        (_("Stages"), _("Stage"), now.stages, timing_figures()),
        (_("Reviewers"), _("Reviewer"), now.reviewers, timing_figures()),
    ]
    for title, first, rows, columns in tables:
        sheet = workbook.add_worksheet(title)
        sheet.write_row(0, 0, [first] + [label for label, _value in columns], bold)
        for index, row in enumerate(rows, start=1):
            sheet.write_string(index, 0, _(row.label) if first == _("Stage") else row.label)
            for column, (_label, name) in enumerate(columns, start=1):
                cell(sheet, index, column, getattr(row, name))
        sheet.set_column(0, 0, 20)
        sheet.set_column(1, len(columns), 14)
        sheet.freeze_panes(1, 1)
    workbook.close()
    return output.getvalue()
