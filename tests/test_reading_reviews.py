"""Post-publication review (阅评): opened by a leader (or by the worker each quarter), each publication of the
period read again and found fine or with a problem, the report, closing, and the problems in the statistics."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from review import reading, services, statistics
from review.models import AuditAction, ErrorCategory, Publication, ReadingFinding, ReadingReview
from review.statistics import Period
from tests import factories
from tests.factories import last_event
from tests.test_signoff_sheet import pdf_text

pytestmark = pytest.mark.django_db

REVIEWS = reverse("review:reading_reviews")


@pytest.fixture
def published(drafter, reviewers, publisher):
    """Two pieces published today."""
    pieces = [
        factories.approved_document(*reviewers, drafter=drafter, title=title) for title in ("流感疫苗", "义诊活动")
    ]
    return [services.publish(document=piece, user=publisher, channel="website") for piece in pieces]


def today() -> str:
    return timezone.localdate().isoformat()


def finding_data(publication: Publication, **fields) -> dict:
    prefix = f"p{publication.pk}-"
    return {"publication": publication.pk, **{prefix + name: value for name, value in fields.items()}}


def test_a_review_from_opening_to_its_report(published, leader, principal, client_for):
    flu, clinic = published
    typo = ErrorCategory.objects.get(name="错字、漏字、多字")
    lead = client_for(leader)

    opened = lead.post(REVIEWS, {"since": today(), "until": today(), "reviewers": [leader.pk, principal.pk]})

    review = ReadingReview.objects.get()
    assert opened.status_code == 302 and opened["Location"] == reverse("review:reading_review", args=[review.pk])
    assert set(review.reviewers.all()) == {leader, principal}
    event = last_event()
    assert (event.action, event.actor, event.data["publications"]) == (AuditAction.READING_REVIEW_OPENED, leader, 2)
    finding_url = reverse("review:reading_finding", args=[review.pk])

    assert lead.post(finding_url, finding_data(flu, verdict="fine")).status_code == 302
    problem = finding_data(clinic, verdict="problem", category=typo.pk, severity="minor", note="“义诊”误作“议诊”。",
                           corrected="on")  # fmt: skip
    assert client_for(principal).post(finding_url, problem).status_code == 302

    findings = {f.publication: f for f in ReadingFinding.objects.all()}
    assert (findings[flu].verdict, findings[flu].reviewer, findings[flu].category) == ("fine", leader, None)
    assert (findings[clinic].verdict, findings[clinic].category, findings[clinic].severity) == (
        "problem",
        typo,
        "minor",
    )
    assert findings[clinic].corrected and findings[clinic].note == "“义诊”误作“议诊”。"
    event = last_event(clinic.document)
    assert (event.action, event.actor) == (AuditAction.READING_FINDING, principal)
    assert event.data == {
        "reading_review": review.pk, "publication": clinic.pk, "channel": "website", "verdict": "problem",
        "category": typo.name, "severity": "minor", "note": "“义诊”误作“议诊”。", "corrected": True,
    }  # fmt: skip

    report = reading.report(review)
    assert (report["read"], report["unread"], report["fine"], report["problems"], report["corrected"]) == (
        2,
        0,
        1,
        1,
        1,
    )
    page = lead.get(reverse("review:reading_review", args=[review.pk]))
    assert "“义诊”误作“议诊”。" in page.content.decode()
    pdf = lead.get(reverse("review:reading_review_pdf", args=[review.pk]))
    assert pdf.status_code == 200 and "义诊活动" in pdf_text(pdf) and "议诊" in pdf_text(pdf)

    assert lead.post(reverse("review:reading_review_close", args=[review.pk])).status_code == 302
    assert ReadingReview.objects.get().closed_at is not None
    assert last_event().action == AuditAction.READING_REVIEW_CLOSED and last_event().data["problems"] == 1
    with pytest.raises(services.Conflict):
        reading.record_finding(review=review, publication=flu, user=leader, verdict="problem")

    figures = statistics.figures(Period(timezone.localdate(), timezone.localdate()))
    assert figures.total.problems_found == 1
    assert [row.problems_found for row in figures.departments] == [1]


def test_a_problem_needs_its_category_severity_and_note(published, leader, client_for):
    review = reading.open_review(by=leader, since=timezone.localdate(), until=timezone.localdate(), reviewers=[leader])
    client = client_for(leader)
    events = AuditEvent.objects.count()

    response = client.post(
        reverse("review:reading_finding", args=[review.pk]), finding_data(published[0], verdict="problem", note="")
    )

    assert response.status_code == 400
    assert not ReadingFinding.objects.exists() and AuditEvent.objects.count() == events


def test_only_readers_record_and_only_leaders_open(published, leader, officer, auditor, client_for):
    review = reading.open_review(by=leader, since=timezone.localdate(), until=timezone.localdate(), reviewers=[leader])
    url = reverse("review:reading_finding", args=[review.pk])

    assert client_for(officer).post(url, finding_data(published[0], verdict="fine")).status_code == 403
    assert client_for(auditor).post(url, finding_data(published[0], verdict="fine")).status_code == 403
    assert client_for(auditor).get(reverse("review:reading_review", args=[review.pk])).status_code == 200
    assert client_for(officer).get(reverse("review:reading_review", args=[review.pk])).status_code == 403
    assert client_for(officer).post(REVIEWS, {"since": today(), "until": today()}).status_code == 403
    assert client_for(leader).get(url).status_code == 405
    assert not ReadingFinding.objects.exists()
    assert ReadingReview.objects.count() == 1


def test_the_worker_opens_the_previous_quarters_review_once(leader, principal):
    day = datetime.date(2026, 10, 2)

    review = reading.open_scheduled_review(day)

    assert (review.since, review.until, review.created_by) == (
        datetime.date(2026, 7, 1),
        datetime.date(2026, 9, 30),
        None,
    )
    assert list(review.reviewers.all()) == [leader]  # the leaders in charge of publicity
    assert reading.open_scheduled_review(day + datetime.timedelta(days=20)) is None
    assert Period.quarter_of(datetime.date(2027, 1, 5)).previous_quarter() == Period(
        datetime.date(2026, 10, 1), datetime.date(2026, 12, 31)
    )
