"""Approving is an electronic signature: the signer re-enters their password (21 CFR Part 11 style)."""

import pytest
from django.urls import reverse

from accounts.models import AuditAction as AccountsAction
from audit.labels import Action as LogAction
from audit.models import AuditEvent
from review.models import AuditAction, Document, StageReview
from tests import factories
from tests.factories import PASSWORD, current_review, fresh, zh

# The database is set up before the per-test fixtures, and checked after them (tests/conftest.py).
pytestmark = pytest.mark.django_db


def approve(client, document, **data):
    """Post the approval form, answering "yes" to every question of the stage's checklist."""
    return client.post(
        reverse("review:document_approve", args=[document.pk]), {**factories.checklist_form(document), **data}
    )


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("not-my-password", "That password is not correct; nothing was signed."),
        ("", "Enter your password to sign the approval."),
    ],
)
def test_it_refuses_an_approval_without_the_right_password(client_for, drafter, officer, password, message):
    document = factories.submitted_document(drafter=drafter)
    review = current_review(document)
    client = client_for(officer)
    before = AuditEvent.objects.count()

    response = approve(client, document, review=review.pk, opinion="同意。", password=password)

    assert response.status_code == 400
    assert zh(message) in response.content.decode()
    assert "同意。" in response.content.decode()  # what the reviewer typed is kept, and what they ticked
    decision_form = response.context["decision_form"]
    assert {name: decision_form[name].value() for name in factories.checklist_form(document)} == (
        factories.checklist_form(document)
    )
    assert fresh(document).state == Document.State.IN_REVIEW
    assert current_review(document).decision == StageReview.Decision.PENDING
    assert not AuditEvent.objects.about(document).filter(action=AuditAction.APPROVED).exists()
    events = list(AuditEvent.objects.filter(sequence__gt=before).order_by("sequence"))
    if password:
        # A wrong password is a failed login (it counts toward lockout) and a refused approval.
        assert [(e.action, e.data) for e in events] == [
            (AccountsAction.LOGIN_FAILED, {"username": "officer"}),
            (LogAction.REFUSED, factories.refused("approve", message)),
        ]
    else:
        assert events == []


def test_it_signs_with_the_right_password_and_binds_the_content(client_for, drafter, officer):
    document = factories.submitted_document(drafter=drafter)
    review = current_review(document)

    response = approve(client_for(officer), document, review=review.pk, opinion="同意。", password=PASSWORD)

    assert response.status_code == 302
    review.refresh_from_db()
    assert review.decision == StageReview.Decision.APPROVED
    assert (review.signer_name, review.meaning) == ("李信", "初审")
    assert review.decided_at is not None
    assert review.revision_hash == fresh(document).current_revision.content_hash


def test_it_needs_no_password_to_return_a_piece(client_for, drafter, officer):
    document = factories.submitted_document(drafter=drafter)

    response = client_for(officer).post(
        reverse("review:document_return", args=[document.pk]),
        {"review": current_review(document).pk, "opinion": "请补充时间。"},
    )

    assert response.status_code == 302
    assert fresh(document).state == Document.State.RETURNED
