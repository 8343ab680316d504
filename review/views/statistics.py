"""Statistics for rewards and penalties (奖惩): the leaders' page, and the same figures as XLSX and PDF."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .. import services, statistics
from ..charts import Bar, bar_chart
from ..forms import StatisticsForm
from ..pdf import statistics_pdf
from ..permissions import can_see_statistics
from ..statistics_xlsx import statistics_xlsx

CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def hours(value) -> str:
    return "—" if value is None else f"{value:.1f}"


def charts(now: statistics.Figures, before: statistics.Figures) -> list:
    """Return the page's charts: releases by department, hours per stage, error rates per stage."""
    legend = (str(now.period), str(before.period))
    previous_published = {row.label: row.published for row in before.departments}
    previous_stage = {timing.label: timing for timing in before.stages}
    charts = [
        bar_chart(
            _("Pieces published, by department"),
            [
                Bar(row.label, row.published, str(row.published), previous_published.get(row.label, 0))
                for row in now.departments
            ],
            legend=legend,
        ),
        bar_chart(
            _("Average hours to decide, by stage"),
            [
                Bar(
                    _(timing.label),
                    timing.average_hours or 0,
                    _("%(average)s h (90%%: %(p90)s h)")
                    % {"average": hours(timing.average_hours), "p90": hours(timing.p90_hours)},
                    getattr(previous_stage.get(timing.label), "average_hours", None) or 0,
                )
                for timing in now.stages
            ],
            legend=legend,
        ),  # fmt: skip
        bar_chart(
            _("Error rate per 10,000 characters, by stage"),
            [
                Bar(
                    _(timing.label),
                    float(timing.error_rate or 0),
                    str(timing.error_rate or "—"),
                    float(getattr(previous_stage.get(timing.label), "error_rate", None) or 0),
                )
                for timing in now.stages
                if timing.characters
            ],
            legend=legend,
        ),  # fmt: skip
    ]
    titles = [
        _("Pieces published, by department"),
        _("Average hours to decide, by stage"),
        _("Error rate per 10,000 characters, by stage"),
    ]
    return list(zip(titles, charts, strict=True))


def totals(now: statistics.Figures, before: statistics.Figures) -> list[tuple]:
    """Return the totals shown at the top: (label, this period, the period before, the change as text)."""
    rows = []
    for label, name in statistics.row_figures():
        value, previous = getattr(now.total, name), getattr(before.total, name)
        change = statistics.change(value, previous)
        rows.append((label, value, previous, "" if change is None else f"{change:+.0%}"))
    return rows


def tables(now: statistics.Figures) -> dict:
    """Return the tables of the page and the PDF."""
    return {
        "tables": [
            (_("By department"), _("Department"), now.departments),
            (_("By drafter"), _("Drafter"), now.drafters),
        ],
        "timings": [(_("By stage"), _("Stage"), now.stages), (_("Reviewers' workloads"), _("Reviewer"), now.reviewers)],
        "stage_label": _("Stage"),
    }


@never_cache
@login_required
@require_GET
def statistics_page(request):
    if not can_see_statistics(request.user):
        raise PermissionDenied(_("Only leaders, auditors and administrators read the statistics."))
    form = StatisticsForm(request.GET.copy())
    if not form.is_valid():
        return render(request, "review/statistics.html", {"form": form}, status=400)
    period, department = form.period(), form.cleaned_data["department"]
    form.data["since"], form.data["until"] = period.since.isoformat(), period.until.isoformat()  # shown as chosen
    now = statistics.figures(period, department)
    before = statistics.figures(period.previous(), department)
    fmt = request.GET.get("format", "")
    if fmt in CONTENT_TYPES:
        described = {"since": period.since.isoformat(), "until": period.until.isoformat()}
        if department:
            described["department"] = str(department.pk)
        services.record_download(user=request.user, format=f"statistics_{fmt}", filters=described)
        if fmt == "xlsx":
            content = statistics_xlsx(now, before, department)
        else:
            context = {"now": now, "before": before, "department": department, "charts": charts(now, before)}
            content = statistics_pdf({**context, "totals": totals(now, before), **tables(now)})
        response = HttpResponse(content, content_type=CONTENT_TYPES[fmt])
        name = f"statistics-{period.since:%Y%m%d}-{period.until:%Y%m%d}.{fmt}"
        response["Content-Disposition"] = content_disposition_header(True, name)
        return response
    query = {"since": period.since.isoformat(), "until": period.until.isoformat()}
    if department:
        query["department"] = department.pk
    context = {
        "form": form,
        "now": now,
        "before": before,
        "department": department,
        "charts": charts(now, before),
        "query": urlencode(query),
        "totals": totals(now, before),
        **tables(now),
    }
    return render(request, "review/statistics.html", context)
