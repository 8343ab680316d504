"""The statistics as an XLSX workbook: a sheet of totals (this period beside the one before) and one for each table
of the page."""

import io

import xlsxwriter
from django.utils.translation import gettext as _

from .statistics import Figures


def _row_columns():
    return [
        (_("Submitted"), lambda row: row.submitted),
        (_("Published"), lambda row: row.published),
        (_("Returned"), lambda row: row.returned),
        (_("Rejected"), lambda row: row.rejected),
        (_("Returns per piece"), lambda row: row.returns_per_piece),
        (_("Error rate (per 10,000 characters)"), lambda row: row.error_rate),
        (_("Overdue stages"), lambda row: row.overdue),
        (_("Problems after publication"), lambda row: row.problems_found),
    ]


def _timing_columns():
    return [
        (_("Decisions"), lambda timing: timing.decisions),
        (_("Approved"), lambda timing: timing.approved),
        (_("Returned"), lambda timing: timing.returned),
        (_("Rejected"), lambda timing: timing.rejected),
        (_("Average hours"), lambda timing: timing.average_hours),
        (_("90th percentile hours"), lambda timing: timing.p90_hours),
        (_("Overdue"), lambda timing: timing.overdue),
        (_("Error rate (per 10,000 characters)"), lambda timing: timing.error_rate),
    ]


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
    for index, (label, value) in enumerate(_row_columns(), start=3):
        summary.write_string(index, 0, label)
        cell(summary, index, 1, value(now.total))
        cell(summary, index, 2, value(before.total))
    summary.set_column(0, 0, 34)
    summary.set_column(1, 2, 26)

    tables = [
        (_("Departments"), _("Department"), now.departments, _row_columns()),
        (_("Drafters"), _("Drafter"), now.drafters, _row_columns()),
        (_("Stages"), _("Stage"), now.stages, _timing_columns()),
        (_("Reviewers"), _("Reviewer"), now.reviewers, _timing_columns()),
    ]
    for title, first, rows, columns in tables:
        sheet = workbook.add_worksheet(title)
        sheet.write_row(0, 0, [first] + [label for label, _value in columns], bold)
        for index, row in enumerate(rows, start=1):
            sheet.write_string(index, 0, _(row.label) if first == _("Stage") else row.label)
            for column, (_label, value) in enumerate(columns, start=1):
                cell(sheet, index, column, value(row))
        sheet.set_column(0, 0, 20)
        sheet.set_column(1, len(columns), 14)
        sheet.freeze_panes(1, 1)
    workbook.close()
    return output.getvalue()
