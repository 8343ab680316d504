"""The sign-off sheet (审签单) and the publication register (登记造册) as PDFs, laid out by audit.pdf."""

import io
from urllib.parse import urljoin

import segno
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from audit.models import AuditEvent, Checkpoint
from audit.pdf import render_pdf, write_in_parts

from .models import Document, StageReview
from .signoff import signatures, verification_code

# A table row takes WeasyPrint several times longer than a paragraph; smaller parts keep each one quick.
REGISTER_ROWS_PER_PART = 500


# The sign-off sheet (审签单).


def signoff_sheet_pdf(document: Document, *, base_url: str = "") -> bytes:
    """Return the sign-off sheet of a piece: its facts, every signature, its publications and a verification code.

    `base_url` is the site's address (e.g. https://imprimatur.example.org/), for the QR code's link.
    """
    reviews = list(
        document.stage_reviews.select_related("stage", "revision").order_by("round", "stage__position", "pk")
    )
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
    # Every review of a round signs the revision that was submitted; before submission, show the current one.
    signed_revision = latest[0].revision if latest else document.current_revision
    context = {
        "title": _("Sign-off sheet: %(title)s") % {"title": document.title},
        "document": document,
        "latest": latest,
        "earlier": earlier,
        "signed_revision": signed_revision,
        "signed_hash": latest[0].revision_hash if latest else signed_revision.content_hash,
        "publications": document.publications.select_related("publisher").order_by("published_at", "pk"),
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
