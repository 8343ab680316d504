"""The bulletin (简报) and the post-publication review (阅评): their pages and their PDFs."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Membership
from audit.pdf import render_pdf

from .. import bulletins, reading, services
from ..forms import BulletinForm, ReadingFindingForm, ReadingReviewForm
from ..models import Bulletin, Document, Publication, ReadingReview
from ..permissions import can_audit, get_visible_document
from ..statistics import Period
from .params import id_param

# The bulletin (简报).


def _drafts(user) -> bool:
    return user.memberships.filter(role=Membership.Role.DRAFTER).exists()


@login_required
@require_GET
def bulletin_list(request):
    visible = Document.objects.visible_to(request.user).filter(kind="bulletin")
    issues = Bulletin.objects.filter(document__in=visible).select_related("document", "editor")
    return render(request, "review/bulletins.html", {"issues": issues, "can_edit": _drafts(request.user)})


def _issue_form(request, bulletin: Bulletin | None):
    """Show or save the form of an issue (new, or changed)."""
    if not _drafts(request.user):
        raise PermissionDenied(_("Editors of the bulletin draft pieces; ask an administrator for the drafter role."))
    chosen = bulletin.items.all() if bulletin else ()
    candidates = bulletins.candidates(request.user)
    if bulletin is not None:  # its pieces stay on the list, whatever their age
        candidates = Document.objects.filter(
            Q(pk__in=candidates.values("pk")) | Q(pk__in=[i.source_id for i in chosen])
        )
        candidates = candidates.select_related("department").order_by("-pk")
    today = timezone.localdate()
    initial = (
        {"title": bulletin.title, "number": bulletin.number, "issued_on": bulletin.issued_on,
         "editor_note": bulletin.editor_note}
        if bulletin
        else {"title": _("Work bulletin"), "number": bulletins.next_number(today.year), "issued_on": today}
    )  # fmt: skip
    form = BulletinForm(
        request.POST if request.method == "POST" else None, initial=initial, candidates=candidates, chosen=chosen
    )
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in ("title", "number", "issued_on", "editor_note", "note")}
        try:
            bulletin = bulletins.save_issue(user=request.user, bulletin=bulletin, items=form.items, **fields)
        except services.NotAllowed:
            raise
        except services.Refusal as refusal:
            form.add_error(refusal.field if refusal.field in form.fields else None, refusal.message)
        else:
            messages.success(request, _("The issue is saved. Submit it for sign-off from its page."))
            return redirect(bulletin.document)
    context = {"form": form, "bulletin": bulletin}
    return render(request, "review/bulletin_form.html", context, status=400 if form.errors else 200)


@login_required
def bulletin_create(request):
    return _issue_form(request, None)


@login_required
def bulletin_edit(request, pk):
    bulletin = get_object_or_404(Bulletin.objects.select_related("document"), pk=pk)
    get_visible_document(request.user, bulletin.document_id)
    if request.user.pk != bulletin.document.drafter_id:
        raise PermissionDenied(_("Only the issue's editor can change it."))
    return _issue_form(request, bulletin)


def _issue_out(request, pk) -> Bulletin:
    """Return an issue the user may read that has been signed off; 404 otherwise (and before sign-off)."""
    bulletin = get_object_or_404(Bulletin.objects.select_related("document", "editor"), pk=pk)
    get_visible_document(request.user, bulletin.document_id)
    if not bulletins.is_out(bulletin):
        raise Http404(_("The issue is printed and put out once signed off."))
    return bulletin


def _download(content, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


@login_required
@require_GET
def bulletin_pdf(request, pk):
    """The issue, print-ready on A4."""
    bulletin = _issue_out(request, pk)
    services.record_download(user=request.user, document=bulletin.document, format="bulletin_pdf")
    content = render_pdf("review/pdf/bulletin.html", {**bulletins.context(bulletin), "title": bulletin.heading})
    return _download(content, "application/pdf", f"bulletin-{bulletin.year}-{bulletin.number:02d}.pdf")


@login_required
@require_GET
def bulletin_html(request, pk):
    """The issue as one HTML file for the website and WeChat's editor (its own styles inside, no script)."""
    bulletin = _issue_out(request, pk)
    services.record_download(user=request.user, document=bulletin.document, format="bulletin_html")
    html = render_to_string("review/bulletin_web.html", bulletins.context(bulletin))
    return _download(html.encode(), "text/html; charset=utf-8", f"bulletin-{bulletin.year}-{bulletin.number:02d}.html")


# The post-publication review (阅评).


def _may_read_reviews(user) -> bool:
    return reading.is_leader(user) or can_audit(user)


def _reading_review(request, pk) -> ReadingReview:
    review = get_object_or_404(ReadingReview, pk=pk)
    if not (_may_read_reviews(request.user) or review.reviewers.filter(pk=request.user.pk).exists()):
        raise PermissionDenied(_("Only leaders, auditors and the review's readers see it."))
    return review


@login_required
def reading_review_list(request):
    reviews = ReadingReview.objects.prefetch_related("reviewers")
    if not _may_read_reviews(request.user):
        reviews = reviews.filter(reviewers=request.user)
    form = None
    if reading.is_leader(request.user):
        last_quarter = Period.quarter_of(timezone.localdate()).previous_quarter()
        initial = {"since": last_quarter.since, "until": last_quarter.until, "reviewers": reading.default_reviewers()}
        form = ReadingReviewForm(request.POST if request.method == "POST" else None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                review = reading.open_review(by=request.user, **form.cleaned_data)
            except services.Invalid as refusal:
                form.add_error(refusal.field if refusal.field in form.fields else None, refusal.message)
            else:
                messages.success(request, _("The review is open; its readers find it under Post-publication review."))
                return redirect("review:reading_review", pk=review.pk)
    elif request.method == "POST":
        with services.refused_as("open reading review", request.user):
            reading.check_leader(request.user)
    status = 400 if form is not None and form.errors else 200
    return render(request, "review/reading_reviews.html", {"reviews": reviews, "form": form}, status=status)


@login_required
@require_GET
def reading_review(request, pk):
    review = _reading_review(request, pk)
    return _review_page(request, review)


def _review_page(request, review: ReadingReview, *, status: int = 200, failed=None):
    report = reading.report(review)
    may_record = reading.may_record(review, request.user)
    rows = []
    for publication, finding in report["rows"]:
        form = None
        if may_record:
            if failed is not None and failed.publication_id == publication.pk:
                form = failed
            else:
                form = ReadingFindingForm(prefix=f"p{publication.pk}", instance=finding, publication=publication)
        rows.append((publication, finding, form))
    # A reader may be asked about a piece they may not open (the principal leader, of one that never reached
    # 审定): its title is shown without a link to a page that would answer 404.
    openable = Document.objects.visible_to(request.user).filter(pk__in=[row[0].document_id for row in rows])
    context = {
        "review": review,
        "report": report,
        "rows": rows,
        "openable": set(openable.values_list("pk", flat=True)),
        "may_close": review.closed_at is None and reading.is_leader(request.user),
    }
    return render(request, "review/reading_review.html", context, status=status)


@login_required
@require_POST
def reading_finding(request, pk):
    review = _reading_review(request, pk)
    try:
        with services.refused_as("record finding", request.user):
            reading.check_reader(review, request.user)
    except services.NotAllowed:
        raise
    except services.Refusal as refusal:
        messages.error(request, refusal.message)
        return redirect("review:reading_review", pk=review.pk)
    publication = get_object_or_404(Publication, pk=id_param(request.POST.get("publication", "")) or 0)
    form = ReadingFindingForm(request.POST, prefix=f"p{publication.pk}", publication=publication)
    if not form.is_valid():
        return _review_page(request, review, status=400, failed=form)
    try:
        reading.record_finding(review=review, publication=publication, user=request.user, **form.cleaned_data)
    except services.NotAllowed:
        raise
    except services.Refusal as refusal:
        if isinstance(refusal, services.Invalid):
            form.add_error(refusal.field if refusal.field in form.fields else None, refusal.message)
            return _review_page(request, review, status=400, failed=form)
        messages.error(request, refusal.message)
    else:
        messages.success(request, _("Recorded: 《%(title)s》.") % {"title": publication.document.title})
    return redirect(reverse("review:reading_review", args=[review.pk]) + f"#publication-{publication.pk}")


@login_required
@require_POST
def reading_review_close(request, pk):
    review = _reading_review(request, pk)
    try:
        reading.close_review(review=review, by=request.user)
    except services.NotAllowed:
        raise
    except services.Refusal as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, _("The review is closed."))
    return redirect("review:reading_review", pk=review.pk)


@login_required
@require_GET
def reading_review_pdf(request, pk):
    review = _reading_review(request, pk)
    services.record_download(user=request.user, format="reading_review_pdf", reading_review=review.pk)
    content = render_pdf(
        "review/pdf/reading_review.html", {"review": review, "report": reading.report(review), "title": review.title}
    )
    return _download(content, "application/pdf", f"reading-review-{review.since:%Y%m%d}-{review.until:%Y%m%d}.pdf")
