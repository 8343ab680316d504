"""Post-publication review (阅评): what was published in a period (a quarter by default) is read again by the
reviewers assigned; each publication is found fine or with a problem (its category, severity and note, and
whether a correction was published). The review's report counts what was found; the statistics count the
problems; every step is an audit event.

Leaders (and administrators) open and close reviews; the worker opens the previous quarter's review by itself
on the first days of a quarter (`open_scheduled_review`, also `manage.py open_reading_review`).
"""

import datetime
from collections import Counter

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Membership, User
from audit.models import AuditEvent

from .models import AuditAction, ErrorCategory, Publication, ReadingFinding, ReadingReview
from .permissions import LEADER_ROLES
from .services import Conflict, Invalid, NotAllowed, refused_as
from .statistics import Period

# How long the reviewers have, from the day a review opens.
DAYS_TO_REVIEW = 30


def is_leader(user: User) -> bool:
    return user.is_authenticated and (user.is_superuser or user.memberships.filter(role__in=LEADER_ROLES).exists())


def default_reviewers():
    """Return who reads a review opened on schedule: the leaders in charge of publicity."""
    return User.objects.filter(is_active=True, memberships__role=Membership.Role.PUBLICITY_LEADER).distinct()


def _record(action: str, *, user: User | None, review: ReadingReview, obj=None, **data) -> AuditEvent:
    return AuditEvent.objects.record(
        action=action, actor=user, obj=obj or review, data={"reading_review": review.pk, **data}
    )


def check_leader(user: User) -> None:
    if not is_leader(user):
        raise NotAllowed(gettext_lazy("Only leaders and administrators open and close post-publication reviews."))


@transaction.atomic
def open_review(
    *, by: User | None, since: datetime.date, until: datetime.date, reviewers, due_on=None, title=""
) -> ReadingReview:
    """Open a review of what was published from `since` to `until` (both days included)."""
    if by is not None:
        check_leader(by)
    reviewers = list(reviewers)
    if not reviewers:
        raise Invalid(gettext_lazy("Choose who reads the publications again."), field="reviewers")
    if until < since:
        raise Invalid(gettext_lazy("The start of the period comes after its end."), field="until")
    review = ReadingReview.objects.create(
        title=title or _("Post-publication review %(period)s") % {"period": Period(since, until)},
        since=since,
        until=until,
        due_on=due_on or timezone.localdate() + datetime.timedelta(days=DAYS_TO_REVIEW),
        created_by=by,
    )
    review.reviewers.set(reviewers)
    _record(
        AuditAction.READING_REVIEW_OPENED, user=by, review=review, title=review.title, since=since.isoformat(),
        until=until.isoformat(), reviewers=sorted(reviewer.username for reviewer in reviewers),
        publications=review.publications().count(),
    )  # fmt: skip
    return review


def open_scheduled_review(today: datetime.date | None = None) -> ReadingReview | None:
    """Open the review of the previous quarter, unless it is open already (or nobody could read it)."""
    today = today or timezone.localdate()
    quarter = Period.quarter_of(today).previous_quarter()
    if ReadingReview.objects.filter(since=quarter.since, until=quarter.until).exists():
        return None
    reviewers = list(default_reviewers())
    if not reviewers:
        return None
    return open_review(by=None, since=quarter.since, until=quarter.until, reviewers=reviewers)


def may_record(review: ReadingReview, user: User) -> bool:
    return review.closed_at is None and review.reviewers.filter(pk=user.pk).exists()


def check_reader(review: ReadingReview, user: User) -> None:
    """Raise unless `user` may record findings in the review now: one of its readers, while it is open."""
    if not review.reviewers.filter(pk=user.pk).exists():
        raise NotAllowed(gettext_lazy("You are not one of this review's readers."))
    if review.closed_at is not None:
        raise Conflict(gettext_lazy("This review is closed."))


def record_finding(**arguments) -> ReadingFinding:
    """Record a finding (see _record_finding); a refusal is recorded in the audit log."""
    with refused_as("record finding", arguments["user"]):
        return _record_finding(**arguments)


@transaction.atomic
def _record_finding(
    *,
    review: ReadingReview,
    publication: Publication,
    user: User,
    verdict: str,
    category: ErrorCategory | None = None,
    severity: str = "",
    note: str = "",
    corrected: bool = False,
) -> ReadingFinding:
    """Record (or change, while the review is open) what `user` found reading `publication` again."""
    review = ReadingReview.objects.select_for_update().get(pk=review.pk)
    check_reader(review, user)
    if not review.publications().filter(pk=publication.pk).exists():
        raise Invalid(gettext_lazy("This publication is not in the review's period."), field="publication")
    problem = verdict == ReadingFinding.Verdict.PROBLEM
    if verdict not in ReadingFinding.Verdict.values:
        raise Invalid(gettext_lazy("Say whether the publication is fine or has a problem."), field="verdict")
    if problem and (category is None or severity not in ReadingFinding.Severity.values):
        raise Invalid(gettext_lazy("Give the problem's category and severity."), field="category")
    if problem and not note.strip():
        raise Invalid(gettext_lazy("Say what the problem is."), field="note")
    finding, _created = ReadingFinding.objects.update_or_create(
        review=review,
        publication=publication,
        defaults={
            "reviewer": user,
            "verdict": verdict,
            "category": category if problem else None,
            "severity": severity if problem else "",
            "note": note.strip(),
            "corrected": corrected if problem else False,
            "recorded_at": timezone.now(),
        },
    )
    _record(
        AuditAction.READING_FINDING, user=user, review=review, obj=publication.document,
        publication=publication.pk, channel=publication.channel, verdict=verdict,
        category=category.name if problem else "", severity=finding.severity, note=finding.note,
        corrected=finding.corrected,
    )  # fmt: skip
    return finding


def close_review(*, review: ReadingReview, by: User) -> ReadingReview:
    """Close the review: its findings stand as they are (a refusal is recorded in the audit log)."""
    with refused_as("close reading review", by):
        return _close_review(review=review, by=by)


@transaction.atomic
def _close_review(*, review: ReadingReview, by: User) -> ReadingReview:
    check_leader(by)
    review = ReadingReview.objects.select_for_update().get(pk=review.pk)
    if review.closed_at is not None:
        raise Conflict(gettext_lazy("This review is closed."))
    review.closed_at = timezone.now()
    review.save(update_fields=["closed_at"])
    summary = report(review)
    _record(
        AuditAction.READING_REVIEW_CLOSED, user=by, review=review, read=summary["read"], unread=summary["unread"],
        problems=summary["problems"],
    )  # fmt: skip
    return review


def report(review: ReadingReview) -> dict:
    """Return the review's report: every publication with its finding, and the counts (in two queries)."""
    publications = list(review.publications())
    findings = {finding.publication_id: finding for finding in review.findings.select_related("reviewer", "category")}
    rows = [(publication, findings.get(publication.pk)) for publication in publications]
    problems = [finding for finding in findings.values() if finding.verdict == ReadingFinding.Verdict.PROBLEM]
    return {
        "rows": rows,
        "read": len(findings),
        "unread": sum(1 for _publication, finding in rows if finding is None),
        "fine": len(findings) - len(problems),
        "problems": len(problems),
        "corrected": sum(1 for finding in problems if finding.corrected),
        "by_category": sorted(Counter(finding.category.name for finding in problems).items()),
        "by_severity": [
            (label, sum(1 for finding in problems if finding.severity == value))
            for value, label in ReadingFinding.Severity.choices
        ],
        "by_department": sorted(
            Counter(
                publication.document.department.name
                for publication, finding in rows
                if finding is not None and finding.verdict == ReadingFinding.Verdict.PROBLEM
            ).items()
        ),
    }
