"""Statistics for rewards and penalties (奖惩): what each department and drafter released, how often it came back,
its error rate, how long each stage took and how much each reviewer decided, for a period and the one before.

Every figure comes from the records (submissions in the audit log, decisions and their recorded errors, the
register), in a fixed number of queries whatever the number of pieces: counts and sums in the database, the
durations worked out by the database (one number a decision) for the averages and percentiles.
"""

import datetime
import math
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, F, FloatField, Func, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Department, User
from audit.models import AuditEvent

from .models import AuditAction, Publication, ReadingFinding, RecordedError, StageReview
from .proofreading import error_rate

Decision = StageReview.Decision


class HoursBetween(Func):
    """The hours from `start` to `end`, worked out by the database (no datetimes to convert in Python)."""

    output_field = FloatField()

    def __init__(self, start, end):
        super().__init__(start, end)

    def _compiled(self, compiler) -> tuple[str, str, list]:
        (start, start_params), (end, end_params) = (compiler.compile(e) for e in self.get_source_expressions())
        return start, end, [*end_params, *start_params]

    def as_sql(self, compiler, connection, **extra):  # PostgreSQL
        start, end, params = self._compiled(compiler)
        return f"(EXTRACT(EPOCH FROM ({end} - {start})) / 3600.0)", params

    def as_sqlite(self, compiler, connection, **extra):
        start, end, params = self._compiled(compiler)
        return f"((julianday({end}) - julianday({start})) * 24.0)", params


@dataclass(frozen=True)
class Period:
    """Days from `since` to `until`, both included, in the organisation's time zone."""

    since: datetime.date
    until: datetime.date

    @classmethod
    def quarter_of(cls, day: datetime.date) -> "Period":
        first = datetime.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        after = datetime.date(first.year + (first.month == 10), (first.month + 2) % 12 + 1, 1)
        return cls(first, after - datetime.timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    def previous_quarter(self) -> "Period":
        """Return the quarter before the one this period starts in."""
        return Period.quarter_of(Period.quarter_of(self.since).since - datetime.timedelta(days=1))

    def previous(self) -> "Period":
        """Return the period of the same length just before this one."""
        until = self.since - datetime.timedelta(days=1)
        return Period(until - datetime.timedelta(days=self.days - 1), until)

    def bounds(self) -> tuple[datetime.datetime, datetime.datetime]:
        """Return the period as [start, end) moments in the current time zone."""
        zone = timezone.get_current_timezone()
        start = datetime.datetime.combine(self.since, datetime.time.min, tzinfo=zone)
        return start, datetime.datetime.combine(self.until + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone)

    def __str__(self):
        return f"{self.since.isoformat()} – {self.until.isoformat()}"


def percentile(values: list[float], fraction: float) -> float | None:
    """Return the `fraction` percentile of `values` by linear interpolation between the nearest ranks (as
    PostgreSQL's percentile_cont and NumPy do); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


@dataclass
class Row:
    """The figures of one department, drafter or, for `total`, everyone."""

    label: str
    submitted: int = 0
    published: int = 0
    returned: int = 0
    rejected: int = 0
    overdue: int = 0
    problems_found: int = 0  # by post-publication review (阅评), in what was published in the period
    weighted_errors: Decimal = Decimal(0)
    characters: int = 0

    @property
    def returns_per_piece(self) -> Decimal | None:
        if not self.submitted:
            return None
        return (Decimal(self.returned) / self.submitted).quantize(Decimal("0.01"))

    @property
    def error_rate(self) -> Decimal | None:
        return error_rate(self.weighted_errors, self.characters) if self.characters else None


@dataclass
class Timing:
    """How long decisions took at one stage, or by one reviewer, in hours; and what they decided."""

    label: str
    hours: list[float] = field(default_factory=list)
    approved: int = 0
    returned: int = 0
    rejected: int = 0
    overdue: int = 0
    weighted_errors: Decimal = Decimal(0)
    characters: int = 0

    @property
    def decisions(self) -> int:
        return self.approved + self.returned + self.rejected

    @property
    def average_hours(self) -> float | None:
        return mean(self.hours)

    @property
    def p90_hours(self) -> float | None:
        return percentile(self.hours, 0.9)

    @property
    def error_rate(self) -> Decimal | None:
        return error_rate(self.weighted_errors, self.characters) if self.characters else None


@dataclass
class Figures:
    period: Period
    total: Row
    departments: list[Row]
    drafters: list[Row]
    stages: list[Timing]
    reviewers: list[Timing]


def figures(period: Period, department: Department | None = None) -> Figures:
    """Return the period's figures, for one department or all of them."""
    start, end = period.bounds()
    in_department = {"document__department": department} if department else {}
    total = Row("")
    departments: dict[int, Row] = {}
    drafters: dict[int, Row] = {}
    names = dict(Department.objects.values_list("pk", "name"))
    people = {}

    def rows(department_id, drafter_id):
        department_row = departments.setdefault(department_id, Row(names.get(department_id, "")))
        people.setdefault(drafter_id, None)
        return total, department_row, drafters.setdefault(drafter_id, Row(""))

    # Submissions: pieces submitted (or resubmitted) in the period, each counted once, from the audit log.
    submitted = AuditEvent.objects.filter(
        action=AuditAction.SUBMITTED, created_at__gte=start, created_at__lt=end, object_type="review.document"
    )
    if department:
        submitted = submitted.filter(scope=str(department.pk))
    for scope, drafter_id, count in (
        submitted.values_list("scope", "actor").annotate(n=Count("object_id", distinct=True)).order_by()
    ):
        for row in rows(int(scope) if scope else None, drafter_id):
            row.submitted += count

    # Publications in the period: pieces released, each counted once (a piece out on two channels is one piece).
    published = Publication.objects.filter(published_at__gte=start, published_at__lt=end, **in_department)
    for department_id, drafter_id, count in (
        published.values_list("document__department", "document__drafter")
        .annotate(n=Count("document", distinct=True))
        .order_by()
    ):
        for row in rows(department_id, drafter_id):
            row.published += count

    # Decisions in the period: returns, rejections, lateness, and the time each took, by piece and by stage.
    decided = StageReview.objects.filter(decided_at__gte=start, decided_at__lt=end, **in_department).exclude(
        decision__in=[Decision.PENDING, Decision.CANCELLED]
    )
    stages: dict[str, Timing] = {}
    reviewers: dict[int, Timing] = {}

    def timings(meaning, reviewer_id) -> tuple[Timing, Timing]:
        if meaning not in stages:
            stages[meaning] = Timing(meaning)
        if reviewer_id not in reviewers:
            reviewers[reviewer_id] = Timing("")
        return stages[meaning], reviewers[reviewer_id]

    by_kind = decided.values_list("meaning", "decided_by", "document__department", "document__drafter", "decision")
    for meaning, reviewer_id, department_id, drafter_id, decision, count, late in by_kind.annotate(
        n=Count("pk"), late=Count("pk", filter=Q(due_at__lt=F("decided_at")))
    ).order_by():
        people.setdefault(reviewer_id, None)
        for timing in timings(meaning, reviewer_id):
            setattr(timing, decision, getattr(timing, decision) + count)
            timing.overdue += late
        for row in rows(department_id, drafter_id):
            row.returned += count if decision == Decision.RETURNED else 0
            row.rejected += count if decision == Decision.REJECTED else 0
            row.overdue += late
    # The hours each decision took, for the averages and percentiles: one number a decision.
    took = decided.exclude(started_at=None).values_list(
        "meaning", "decided_by", HoursBetween("started_at", "decided_at")
    )
    for meaning, reviewer_id, hours in took.order_by().iterator(chunk_size=5000):
        for timing in timings(meaning, reviewer_id):
            timing.hours.append(hours)

    # Stages still waiting past their due time count as overdue too (for the period they fell due in).
    waiting_late = StageReview.objects.filter(
        decision=Decision.PENDING, due_at__gte=start, due_at__lt=min(end, timezone.now()), **in_department
    )
    late_by = waiting_late.values_list("meaning", "document__department", "document__drafter")
    for meaning, department_id, drafter_id, count in late_by.annotate(n=Count("pk")).order_by():
        stages.setdefault(meaning, Timing(meaning)).overdue += count
        for row in rows(department_id, drafter_id):
            row.overdue += count

    # Error rates: the errors proofreaders recorded with the approvals of the period, over the characters they
    # signed (signatures at stages that proofread, whether they found errors or not).
    proofread = decided.filter(decision=Decision.APPROVED).exclude(stage__proofread_name="")
    for meaning, department_id, drafter_id, characters in (
        proofread.values_list("meaning", "document__department", "document__drafter")
        .annotate(n=Sum("revision__characters"))
        .order_by()
    ):
        stages.setdefault(meaning, Timing(meaning)).characters += characters or 0
        for row in rows(department_id, drafter_id):
            row.characters += characters or 0
    errors = RecordedError.objects.filter(review__in=proofread)
    for meaning, department_id, drafter_id, weighted in (
        errors.values_list("review__meaning", "review__document__department", "review__document__drafter")
        .annotate(n=Sum(F("weight") * F("count")))
        .order_by()
    ):
        stages.setdefault(meaning, Timing(meaning)).weighted_errors += weighted or 0
        for row in rows(department_id, drafter_id):
            row.weighted_errors += weighted or 0

    # Problems post-publication review found in what was published in the period.
    problems = ReadingFinding.objects.filter(
        verdict=ReadingFinding.Verdict.PROBLEM, publication__published_at__gte=start, publication__published_at__lt=end
    )
    if department:
        problems = problems.filter(publication__document__department=department)
    for department_id, drafter_id, count in (
        problems.values_list("publication__document__department", "publication__document__drafter")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        for row in rows(department_id, drafter_id):
            row.problems_found += count

    named = {user.pk: user.printed_name for user in User.objects.filter(pk__in=[pk for pk in people if pk])}
    for drafter_id, row in drafters.items():
        row.label = named.get(drafter_id, "")
    for reviewer_id, timing in reviewers.items():
        timing.label = named.get(reviewer_id, "")
    return Figures(
        period=period,
        total=total,
        departments=sorted(departments.values(), key=lambda row: row.label),
        drafters=sorted(drafters.values(), key=lambda row: (-row.submitted, row.label)),
        stages=sorted(stages.values(), key=_stage_order),
        reviewers=sorted(reviewers.values(), key=lambda timing: (-timing.decisions, timing.label)),
    )


# The clinic's stages in their order; any other stage after them, by name.
STAGE_ORDER = ["初审", "复审", "终审", "审定"]


def _stage_order(timing: Timing):
    return (STAGE_ORDER.index(timing.label) if timing.label in STAGE_ORDER else len(STAGE_ORDER), timing.label)


def row_figures() -> list[tuple[str, str]]:
    """Return the figures of a Row as (label in the reader's language, attribute), in the order they are shown."""
    return [
        (_("Submitted"), "submitted"),
        (_("Published"), "published"),
        (_("Returned"), "returned"),
        (_("Rejected"), "rejected"),
        (_("Returns per piece"), "returns_per_piece"),
        (_("Error rate (per 10,000 characters)"), "error_rate"),
        (_("Overdue stages"), "overdue"),
        (_("Problems after publication"), "problems_found"),
    ]


def timing_figures() -> list[tuple[str, str]]:
    """Return the figures of a Timing as (label, attribute), in the order they are shown."""
    return [
        (_("Decisions"), "decisions"),
        (_("Approved"), "approved"),
        (_("Returned"), "returned"),
        (_("Rejected"), "rejected"),
        (_("Average hours"), "average_hours"),
        (_("90th percentile hours"), "p90_hours"),
        (_("Overdue"), "overdue"),
        (_("Error rate (per 10,000 characters)"), "error_rate"),
    ]


def change(now, before) -> float | None:
    """Return the change from `before` to `now` as a fraction (0.25 for a quarter more), None when not defined."""
    if now is None or not before:
        return None
    return (float(now) - float(before)) / float(before)
