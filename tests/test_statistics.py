"""Statistics for rewards and penalties: figures on a small history whose every number is worked out by hand here,
the percentile arithmetic, who may read them, and the XLSX and PDF downloads of the same figures."""

import datetime
import io
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from review import services, statistics
from review.models import ErrorCategory, StageReview
from review.statistics import Period, percentile
from tests import factories
from tests.factories import PASSWORD, fresh, last_event
from tests.test_signoff_sheet import pdf_text

pytestmark = pytest.mark.django_db

STATISTICS = reverse("review:statistics")


def test_percentiles_interpolate_between_ranks():
    assert percentile([], 0.9) is None
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([2.0, 4.0, 6.0], 0.5) == 4.0
    assert percentile([6.0, 2.0, 4.0], 0.9) == pytest.approx(5.6)  # rank 1.8: 4 + 0.8 × (6 − 4)
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.9) == pytest.approx(3.7)  # rank 2.7: 3 + 0.7 × (4 − 3)
    assert statistics.mean([1.0, 10.0]) == 5.5


def test_a_period_knows_its_quarter_and_the_period_before():
    assert Period.quarter_of(datetime.date(2026, 11, 15)) == Period(
        datetime.date(2026, 10, 1), datetime.date(2026, 12, 31)
    )
    assert Period.quarter_of(datetime.date(2026, 2, 1)) == Period(datetime.date(2026, 1, 1), datetime.date(2026, 3, 31))
    march = Period(datetime.date(2026, 3, 1), datetime.date(2026, 3, 31))
    assert march.previous() == Period(datetime.date(2026, 1, 29), datetime.date(2026, 2, 28))


def approve(document, user, errors=()):
    return services.approve(
        document=document, user=user, password=PASSWORD, opinion="同意。", checklist=factories.answers(document),
        errors=list(errors),
    )  # fmt: skip


def timed(document, meaning, round_, *, hours, late=False):
    """Say the decision at `meaning` in `round_` took `hours` from reaching the stage (and was late, or not)."""
    review = StageReview.objects.get(document=document, meaning=meaning, round=round_, cosignature=False)
    decided = timezone.now() - datetime.timedelta(hours=1)
    started = decided - datetime.timedelta(hours=hours)
    due = started + datetime.timedelta(hours=hours / 2 if late else hours * 2)
    StageReview.objects.filter(pk=review.pk).update(started_at=started, decided_at=decided, due_at=due)
    return review


@pytest.fixture
def history(drafter, officer, head, leader, publisher, outsider):
    """Three pieces in the last thirty days:
    - 流感疫苗: 初审 with two one-point errors (2 h, late), 复审 (10 h), 终审 (3 h), published;
    - 义诊: returned at 初审 (4 h), resubmitted, 初审 (6 h), rejected at 复审 (1 h);
    - 医务科通知: another department's, waiting at its first stage.
    """
    typo = ErrorCategory.objects.get(weight=Decimal("1.0"))
    flu = factories.submitted_document(drafter=drafter, title="流感疫苗")
    approve(flu, officer, errors=[{"category": typo.pk, "count": 2}])
    approve(flu, head)
    approve(flu, leader)
    services.publish(document=flu, user=publisher, channel="website")
    clinic = factories.submitted_document(drafter=drafter, title="义诊")
    services.return_for_changes(document=clinic, user=officer, reason="请补充时间。")
    factories.submit(clinic)
    approve(clinic, officer)
    services.reject(document=clinic, user=head, reason="不宜发布。")
    factories.submitted_document(drafter=outsider, title="医务科通知")
    timed(flu, "初审", 1, hours=2, late=True)
    timed(flu, "复审", 1, hours=10)
    timed(flu, "终审", 1, hours=3)
    timed(clinic, "初审", 1, hours=4)
    timed(clinic, "初审", 2, hours=6)
    timed(clinic, "复审", 2, hours=1)
    return fresh(flu), fresh(clinic)


def last_thirty_days() -> Period:
    today = timezone.localdate()
    return Period(today - datetime.timedelta(days=30), today)


def test_the_figures_are_those_worked_out_by_hand(history, department, other_department):
    flu, clinic = history
    flu_characters = flu.current_revision.characters
    clinic_characters = clinic.current_revision.characters

    figures = statistics.figures(last_thirty_days())

    total = figures.total
    assert (total.submitted, total.published, total.returned, total.rejected, total.overdue) == (3, 1, 1, 1, 1)
    assert total.returns_per_piece == Decimal("0.33")
    # Two one-point errors over every character signed with a proofread: 流感疫苗 thrice, 义诊 once (初审).
    assert total.error_rate == (Decimal(2 * 10_000) / (3 * flu_characters + clinic_characters)).quantize(
        Decimal("0.01")
    )
    by_department = {row.label: row for row in figures.departments}
    assert set(by_department) == {department.name, other_department.name}
    public_health = by_department[department.name]
    assert (public_health.submitted, public_health.published, public_health.returns_per_piece) == (
        2,
        1,
        Decimal("0.50"),
    )
    assert by_department[other_department.name].submitted == 1
    assert [(row.label, row.submitted, row.returned, row.rejected) for row in figures.drafters] == [
        ("张晓雯", 2, 1, 1), ("周杰", 1, 0, 0),
    ]  # fmt: skip

    stages = {timing.label: timing for timing in figures.stages}
    assert [timing.label for timing in figures.stages] == ["初审", "复审", "终审"]
    first = stages["初审"]
    assert (first.decisions, first.approved, first.returned, first.overdue) == (3, 2, 1, 1)
    assert first.average_hours == pytest.approx(4.0)
    assert first.p90_hours == pytest.approx(5.6)
    assert first.error_rate == (Decimal(2 * 10_000) / (flu_characters + clinic_characters)).quantize(Decimal("0.01"))
    second = stages["复审"]
    assert (second.decisions, second.approved, second.rejected) == (2, 1, 1)
    assert (second.average_hours, second.p90_hours) == (pytest.approx(5.5), pytest.approx(9.1))
    assert second.error_rate == Decimal("0.00")  # signed with a proofread, no error found
    assert stages["终审"].average_hours == pytest.approx(3.0)

    reviewers = {timing.label: timing for timing in figures.reviewers}
    assert [(t.label, t.decisions) for t in figures.reviewers] == [("李信", 3), ("王建国", 2), ("陈志强", 1)]
    assert reviewers["李信"].average_hours == pytest.approx(4.0)

    one_department = statistics.figures(last_thirty_days(), other_department)
    assert (one_department.total.submitted, one_department.total.published, one_department.stages) == (1, 0, [])


def test_the_period_before_holds_nothing_here(history):
    before = statistics.figures(last_thirty_days().previous())

    assert (before.total.submitted, before.total.published, before.total.error_rate) == (0, 0, None)
    assert before.departments == [] and before.stages == []


def test_the_figures_take_the_same_number_of_queries_for_more_pieces(drafter, officer):
    factories.approve_by(factories.submitted_document(drafter=drafter), officer)
    with CaptureQueriesContext(connection) as few:
        statistics.figures(last_thirty_days())
    for _n in range(5):
        factories.approve_by(factories.submitted_document(drafter=drafter), officer)
    with CaptureQueriesContext(connection) as many:
        statistics.figures(last_thirty_days())

    assert len(many) == len(few) <= 10


@pytest.mark.parametrize(("who", "status"), [("leader", 200), ("principal", 200), ("auditor", 200), ("drafter", 403),
                                             ("officer", 403), ("head", 403), ("publisher", 403)])  # fmt: skip
def test_leaders_auditors_and_administrators_read_them_and_no_one_else(who, status, request, client_for):
    user = request.getfixturevalue(who)

    assert client_for(user).get(STATISTICS).status_code == status
    assert client_for(user).get(STATISTICS, {"format": "xlsx"}).status_code == status


def test_the_page_shows_the_figures_and_charts(history, leader, client_for):
    today = timezone.localdate()
    since = (today - datetime.timedelta(days=30)).isoformat()

    page = client_for(leader).get(STATISTICS, {"since": since, "until": today.isoformat()})

    assert page.status_code == 200
    content = page.content.decode()
    assert content.count('<svg class="chart"') == 3
    assert "张晓雯" in content and "李信" in content
    assert page.context["now"].total.submitted == 3
    assert page.context["now"].period == last_thirty_days()


def test_a_period_that_ends_before_it_starts_is_refused_and_kept(leader, client_for):
    page = client_for(leader).get(STATISTICS, {"since": "2026-05-01", "until": "2026-04-01"})

    assert page.status_code == 400
    assert 'value="2026-05-01"' in page.content.decode()


def test_the_downloads_hold_the_same_figures_and_are_recorded(history, leader, client_for):
    today = timezone.localdate()
    query = {"since": (today - datetime.timedelta(days=30)).isoformat(), "until": today.isoformat()}
    client = client_for(leader)

    xlsx = client.get(STATISTICS, {**query, "format": "xlsx"})

    assert xlsx.status_code == 200
    assert xlsx["Content-Disposition"].endswith('.xlsx"')
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert len(workbook.sheetnames) == 5
    summary = workbook.worksheets[0]
    assert [summary.cell(row, 2).value for row in range(4, 8)] == [
        3,
        1,
        1,
        1,
    ]  # submitted, published, returned, rejected
    stages = workbook.worksheets[3]
    assert [stages.cell(row, 1).value for row in range(2, 5)] == ["初审", "复审", "终审"]
    assert stages.cell(2, 2).value == 3
    event = last_event()
    assert (event.action, event.actor, event.data["format"]) == ("downloaded", leader, "statistics_xlsx")
    assert event.data["filters"] == query

    pdf = client.get(STATISTICS, {**query, "format": "pdf"})

    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    text = pdf_text(pdf)
    assert "统计" in text and "张晓雯" in text and "初审" in text
    assert last_event().data["format"] == "statistics_pdf"
