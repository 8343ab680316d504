"""The sign-off sheet (审签单) and the publication register (登记造册) as PDFs, laid out by audit.pdf."""

import io
from urllib.parse import urljoin

import segno
from django.conf import settings
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from audit.models import AuditEvent, Checkpoint
from audit.pdf import render_pdf, write_in_parts

from . import proofreading
from .models import Document, StageReview
from .signoff import signatures, verification_code

# A table row takes WeasyPrint several times longer than a paragraph; smaller parts keep each one quick.
REGISTER_ROWS_PER_PART = 500


# The sign-off sheet (审签单).


def signoff_sheet_pdf(document: Document, *, base_url: str = "") -> bytes:
    """Return the sign-off sheet (审签单) a unit files: the piece's facts, both parts of every signature with their
    checklist answers and error rates, the revision each person signed and who wrote each, the publications, a
    verification code, the chain head when printed, the attachments by name and hash, and the full text signed.

    `base_url` is the site's address (e.g. https://imprimatur.example.org/), for the QR code's link.
    """
    reviews = list(
        document.stage_reviews.select_related("stage", "revision")
        .prefetch_related("answers__item", "errors__category")
        .order_by("round", "stage__position", "pk")
    )
    for review in reviews:
        if review.decision == StageReview.Decision.APPROVED:
            review.error_rate = proofreading.review_error_rate(review)
    signed = signatures(reviews)
    code = verification_code(document, signed)
    verify_url = urljoin(base_url, reverse("review:verify", args=[code]))
    qr = segno.make(verify_url, error="m")
    latest = [
        review
        for review in reviews
        if review.round == document.round and review.decision != StageReview.Decision.CANCELLED
    ]
    earlier = [review for review in signed if review.round < document.round]
    # The text as last signed in this round (a proofreader may have corrected it); before any, the current one.
    signed_this_round = signatures(review for review in latest if review.decided_at)
    signed_revision = signed_this_round[-1].revision if signed_this_round else document.current_revision
    context = {
        "title": _("Sign-off sheet: %(title)s") % {"title": document.title},
        "organisation": settings.ORGANISATION_NAME,
        "document": document,
        "latest": latest,
        "earlier": earlier,
        "signed_revision": signed_revision,
        "signed_hash": signed_revision.content_hash,
        "signed_text": proofreading.plain_text(signed_revision.body),
        "characters": proofreading.character_count(signed_revision.title, signed_revision.body),
        "publications": document.publications.select_related("publisher").order_by("published_at", "pk"),
        "attachments": document.attachments.order_by("uploaded_at", "pk"),
        # Who wrote each revision: the drafter, or a proofreader correcting at their stage.
        "revisions": document.revisions.select_related("author", "stage").order_by("number"),
        "code": code,
        "verify_url": verify_url,
        "qr_svg": mark_safe(qr.svg_inline(omitsize=True, border=0, svgclass="qr", lineclass=None)),
        # Paper is a witness outside the database: the chain's head and newest checkpoint when it was printed.
        "head": AuditEvent.objects.head(),
        "checkpoint": Checkpoint.objects.latest_signed(),
    }
    return render_pdf("review/pdf/signoff_sheet.html", context)


# The publication register (登记造册).


def register_pdf(publications, filters: dict) -> bytes:
    """Return the register of `publications` (Publication.objects.for_register()) as a PDF."""
    output = io.BytesIO()
    context = {"title": _("Publication register"), "filters": filters, "page_size": "A4 landscape"}
    write_in_parts(
        "review/pdf/register.html",
        context,
        publications.iterator(chunk_size=REGISTER_ROWS_PER_PART),
        output,
        rows_per_part=REGISTER_ROWS_PER_PART,
    )
    return output.getvalue()


# Statistics for rewards and penalties (奖惩).


def statistics_pdf(context: dict) -> bytes:
    """Return the statistics page as a PDF, its charts (SVG) included."""
    return render_pdf("review/pdf/statistics.html", {**context, "title": _("Statistics")})
