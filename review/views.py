from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import prefetch_related_objects
from django.http import FileResponse, Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_fsm import has_transition_perm

from accounts.models import Membership

from . import services
from .audit import verify_chain
from .exports import CONTENT_TYPES, chain_head, record_download, start_export, stream_job
from .forms import AttachmentForm, AuditFilterForm, DecisionForm, DocumentForm, PublishForm, RegisterFilterForm
from .models import AuditEvent, Document, ExportJob, Publication, StageReview
from .permissions import can_audit, can_keep_register, get_export_job, get_visible_document
from .register import register_csv, register_xlsx
from .signoff import check_code, parse_code

PAGE_SIZE = 25


def record_refusal(request, document: Document | None, attempted: str, reason: str) -> None:
    """Record a refused action, outside the transaction that was rolled back."""
    state = document.state if document is not None else ""
    AuditEvent.objects.record(
        action=AuditEvent.Action.REFUSED,
        actor=request.user,
        document=document,
        from_state=state,
        to_state=state,
        data={"attempted": attempted, "reason": reason},
    )


def refuse(request, document: Document | None, attempted: str, error: Exception):
    """Record a refused action, then answer the user: 403 for who they are, a message for when they came."""
    record_refusal(request, document, attempted, str(error))
    if isinstance(error, PermissionDenied) or document is None:
        raise PermissionDenied(str(error))
    messages.error(request, str(error))
    return redirect(document)


@login_required
def home(request):
    if Document.objects.awaiting(request.user).exists():
        return redirect("review:queue")
    return redirect("review:documents")


@login_required
def queue(request):
    documents = Document.objects.awaiting(request.user).with_related()
    page = Paginator(documents, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "review/queue.html", {"page": page})


@login_required
def document_list(request):
    documents = Document.objects.visible_to(request.user).with_related()
    state = request.GET.get("state", "")
    if state in Document.State.values:
        documents = documents.filter(state=state)
    mine = request.GET.get("mine") == "1"
    if mine:
        documents = documents.filter(drafter=request.user)
    page = Paginator(documents, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "states": Document.State.choices,
        "state": state,
        "mine": mine,
        "can_draft": request.user.memberships.filter(role=Membership.Role.DRAFTER).exists(),
    }
    partial = "#results" if request.headers.get("HX-Request") else ""
    template = f"review/document_list.html{partial}"
    return render(request, template, context)


@login_required
def document_create(request):
    if not request.user.memberships.filter(role=Membership.Role.DRAFTER).exists():
        error = PermissionDenied(_("You do not draft for any department; ask an administrator for the drafter role."))
        return refuse(request, None, "create", error)
    form = DocumentForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        document = services.create_document(drafter=request.user, **form.cleaned_data)
        return _saved(request, document)
    return render(request, "review/document_form.html", {"form": form})


@login_required
def document_edit(request, pk):
    document = get_visible_document(request.user, pk)
    if not has_transition_perm(document.submit, request.user):
        error = PermissionDenied(_("Only the drafter can edit this piece, and only before it is submitted."))
        return refuse(request, document, "edit", error)
    form = DocumentForm(request.POST or None, instance=document, user=request.user)
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in services.EDITABLE_FIELDS}
        # The ModelForm has already written the values onto the instance; start from the stored row.
        document.refresh_from_db()
        try:
            services.edit_document(document=document, user=request.user, **changes)
        except (PermissionDenied, services.Conflict) as error:
            return refuse(request, document, "edit", error)
        return _saved(request, document)
    return render(request, "review/document_form.html", {"form": form, "document": document})


def _saved(request, document: Document):
    """Answer a saved draft; with "Save and submit", send it on to the first stage as well."""
    if "submit" not in request.POST:
        messages.success(request, _("Draft saved. Submit it when it is ready for review."))
        return redirect(document)
    try:
        services.submit_document(document=document, user=request.user)
    except (PermissionDenied, services.Conflict) as error:
        return refuse(request, document, "submit", error)
    messages.success(request, _("Saved and submitted for review."))
    return redirect(document)


def _detail_context(request, document: Document, **forms) -> dict:
    user = request.user
    current_review = next(
        (
            review
            for review in document.stage_reviews.all()
            if document.state == Document.State.IN_REVIEW
            and review.round == document.round
            and review.stage_id == document.current_stage_id
        ),
        None,
    )
    can_review = document.state == Document.State.IN_REVIEW and document.review_refusal(user) is None
    can_publish = has_transition_perm(document.publish, user)
    can_edit = has_transition_perm(document.submit, user)
    return_review = None
    if document.state == Document.State.CHANGES_REQUESTED:
        return_review = max(
            (r for r in document.stage_reviews.all() if r.decision == StageReview.Decision.CHANGES_REQUESTED),
            key=lambda review: review.decided_at,
            default=None,
        )
    context = {
        "document": document,
        "return_review": return_review,
        "reviews": [
            review
            for review in document.stage_reviews.all()
            if review.decision != StageReview.Decision.CANCELLED
            and (review.decision != StageReview.Decision.PENDING or review.round == document.round)
        ],
        "events": document.audit_events.all(),
        "publications": document.publications.select_related("publisher"),
        "current_review": current_review,
        "can_edit": can_edit,
        "can_withdraw": has_transition_perm(document.withdraw, user),
        "can_review": can_review,
        "can_publish": can_publish,
        "decision_form": forms.get("decision_form")
        or (DecisionForm(initial={"review": current_review.pk}) if can_review and current_review else None),
        "decision_action": forms.get("decision_action", ""),
        "publish_form": forms.get("publish_form") or (PublishForm(document=document) if can_publish else None),
        "attachments": document.attachments.all(),
        "attachment_form": forms.get("attachment_form") or (AttachmentForm() if can_edit else None),
    }
    return context


@login_required
def document_detail(request, pk):
    document = get_visible_document(request.user, pk)
    prefetch_related_objects([document], "stage_reviews__decided_by")
    return render(request, "review/document_detail.html", _detail_context(request, document))


@login_required
@require_POST
def document_submit(request, pk):
    document = get_visible_document(request.user, pk)
    try:
        services.submit_document(document=document, user=request.user)
    except (PermissionDenied, services.Conflict) as error:
        return refuse(request, document, "submit", error)
    messages.success(request, _("Submitted for review."))
    return redirect(document)


def _decide(request, pk, action: str):
    document = get_visible_document(request.user, pk)
    # Who and when come before what: an outsider or a late click is refused whatever the form says.
    posted_review = request.POST.get("review", "")
    try:
        services.check_decision(
            document=document, user=request.user, review_id=int(posted_review) if posted_review.isdigit() else None
        )
    except (PermissionDenied, services.Conflict) as error:
        return refuse(request, document, action, error)
    signing = action == "approve"
    form = DecisionForm(
        request.POST,
        reason_required=not signing,
        signer=request.user if signing else None,
        request=request,
    )
    if not form.is_valid():
        if form.has_error("password", "bad_signature"):
            record_refusal(request, document, action, "wrong signature password")
        context = _detail_context(request, document, decision_form=form, decision_action=action)
        return render(request, "review/document_detail.html", context, status=400)
    review_id, opinion = form.cleaned_data["review"], form.cleaned_data["opinion"]
    try:
        if action == "approve":
            services.approve(document=document, user=request.user, opinion=opinion, review_id=review_id)
            messages.success(request, _("Approved. Thank you."))
        elif action == "return":
            services.request_changes(document=document, user=request.user, reason=opinion, review_id=review_id)
            messages.success(request, _("Returned to the drafter for changes."))
        else:
            services.reject(document=document, user=request.user, reason=opinion, review_id=review_id)
            messages.success(request, _("Rejected."))
    except (PermissionDenied, services.Conflict) as error:
        return refuse(request, document, action, error)
    if Document.objects.awaiting(request.user).exists():
        return redirect("review:queue")
    return redirect(document)


@login_required
@require_POST
def document_approve(request, pk):
    return _decide(request, pk, "approve")


@login_required
@require_POST
def document_return(request, pk):
    return _decide(request, pk, "return")


@login_required
@require_POST
def document_reject(request, pk):
    return _decide(request, pk, "reject")


@login_required
@require_POST
def document_publish(request, pk):
    document = get_visible_document(request.user, pk)
    if not has_transition_perm(document.publish, request.user):
        if document.state in (Document.State.APPROVED, Document.State.PUBLISHED):
            error = PermissionDenied(_("You are not a publisher for this piece."))
        else:
            error = services.Conflict(_("Only an approved piece can be marked published."))
        return refuse(request, document, "publish", error)
    form = PublishForm(request.POST, document=document)
    if not form.is_valid():
        return render(
            request, "review/document_detail.html", _detail_context(request, document, publish_form=form), status=400
        )
    try:
        services.publish(document=document, user=request.user, **form.cleaned_data)
    except (PermissionDenied, services.Conflict) as error:
        return refuse(request, document, "publish", error)
    messages.success(request, _("Marked published."))
    return redirect(document)


@login_required
@require_POST
def document_withdraw(request, pk):
    document = get_visible_document(request.user, pk)
    try:
        services.withdraw(document=document, user=request.user, reason=request.POST.get("reason", ""))
    except (PermissionDenied, services.Conflict) as error:
        return refuse(request, document, "withdraw", error)
    messages.success(request, _("Withdrawn."))
    return redirect(document)


# The audit log: reading, verifying and downloading it (auditors and superusers only).

AUDIT_PAGE_SIZE = 50
# Recomputing the chain reads every row; on a large log a result a few minutes old is good enough to show.
VERIFICATION_CACHE_SECONDS = 300


def _require_auditor(user) -> None:
    if not can_audit(user):
        raise PermissionDenied(_("Only auditors can read the audit log."))


def _sequence_param(value) -> int | None:
    return int(value) if value and value.isdigit() else None


def _audit_page(events, *, before: int | None, after: int | None) -> dict:
    """Return one page of events, newest first, found by sequence number rather than by counting rows."""
    if after is not None:
        newer_first = list(events.filter(sequence__gt=after).order_by("sequence")[: AUDIT_PAGE_SIZE + 1])
        if len(newer_first) > AUDIT_PAGE_SIZE:
            rows = newer_first[:AUDIT_PAGE_SIZE][::-1]
            return {"rows": rows, "has_newer": True, "has_older": events.filter(sequence__lte=after).exists()}
        before = None  # Fewer than a page is newer: that is the newest page.
    newest_first = events.order_by("-sequence")
    if before is not None:
        newest_first = newest_first.filter(sequence__lt=before)
    rows = list(newest_first[: AUDIT_PAGE_SIZE + 1])
    return {
        "rows": rows[:AUDIT_PAGE_SIZE],
        "has_older": len(rows) > AUDIT_PAGE_SIZE,
        "has_newer": before is not None and events.filter(sequence__gte=before).exists(),
    }


def _verification_key(head) -> str:
    return f"audit-verification:{head.sequence}:{head.hash}"


@login_required
@require_GET
def audit_log(request):
    _require_auditor(request.user)
    form = AuditFilterForm(request.GET or None)
    events = AuditEvent.objects.all()
    if form.is_bound:
        events = events.matching(**form.filters()) if form.is_valid() else events.none()
    page = _audit_page(
        events, before=_sequence_param(request.GET.get("before")), after=_sequence_param(request.GET.get("after"))
    )
    if document_ids := {event.document_id for event in page["rows"] if event.document_id}:
        visible = Document.objects.visible_to(request.user).filter(pk__in=document_ids)
        linkable = set(visible.values_list("pk", flat=True))
        for event in page["rows"]:
            event.linkable = event.document_id in linkable
    head = chain_head()
    context = {
        "form": form,
        "page": page,
        "head": head,
        "verification": cache.get(_verification_key(head)),
        "filters": form.describe() if form.is_bound and form.is_valid() else {},
        "formats": ExportJob.Format.choices,
        "exports": ExportJob.objects.filter(requested_by=request.user)[:5],
    }
    return render(request, "review/audit_log.html", context)


@login_required
@require_GET
def audit_verify(request):
    """Recompute the chain (or show a result a few minutes old for the same head) as a partial."""
    _require_auditor(request.user)
    head = chain_head()
    key = _verification_key(head)
    verification = None if request.GET.get("now") else cache.get(key)
    if verification is None:
        result = verify_chain()
        verification = {**vars(result), "checked_at": timezone.now()}
        cache.set(key, verification, VERIFICATION_CACHE_SECONDS)
    return render(request, "review/_audit_verification.html", {"verification": verification, "head": head})


@login_required
@require_POST
def audit_export_create(request):
    _require_auditor(request.user)
    form = AuditFilterForm(request.POST)
    export_format = request.POST.get("format", "")
    if export_format not in ExportJob.Format.values or not form.is_valid():
        messages.error(request, _("Choose a format and a valid period to download."))
        query = {name: request.POST.get(name) for name in form.fields if request.POST.get(name)}
        return redirect(f"{reverse('review:audit')}?{urlencode(query)}")
    job = start_export(user=request.user, format=export_format, filters=form.describe())
    if not job.is_streamed:
        return redirect(job)
    # The download event is already in the log; the figures land on the job when the last byte is sent.
    response = StreamingHttpResponse(stream_job(job), content_type=CONTENT_TYPES[job.format])
    return _as_download(request, response, job)


def _as_download(request, response, job: ExportJob):
    response["Content-Disposition"] = content_disposition_header(True, job.download_name)
    response["X-Export-Manifest"] = request.build_absolute_uri(reverse("review:audit_export_manifest", args=[job.pk]))
    return response


@login_required
@require_GET
def audit_export(request, pk):
    job = get_export_job(request.user, pk)
    partial = "#status" if request.headers.get("HX-Request") else ""
    return render(request, f"review/audit_export.html{partial}", {"job": job})


@login_required
@require_GET
def audit_export_download(request, pk):
    job = get_export_job(request.user, pk)
    if job.status != ExportJob.Status.DONE or not job.file:
        raise Http404
    record_download(format=job.format, filters=job.filters, actor=request.user, export_job=job.pk)
    response = FileResponse(job.file.open("rb"), content_type=CONTENT_TYPES[job.format])
    return _as_download(request, response, job)


@login_required
@require_GET
def audit_export_manifest(request, pk):
    job = get_export_job(request.user, pk)
    response = JsonResponse(job.manifest(), json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = content_disposition_header(False, f"{job.download_name}.manifest.json")
    return response


# Sign-off sheets (审签单), their public verification, and the publication register (登记造册).


def _pdf_response(content: bytes, filename: str, *, as_attachment: bool) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(as_attachment, filename)
    return response


@never_cache
@login_required
@require_GET
def signoff_sheet(request, pk):
    # WeasyPrint takes a second to import: only the PDF views pay for it.
    from .pdf import signoff_sheet_pdf

    document = get_visible_document(request.user, pk)
    content = signoff_sheet_pdf(document, base_url=request.build_absolute_uri("/"))
    AuditEvent.objects.record(
        action=AuditEvent.Action.DOWNLOADED, actor=request.user, document=document, data={"format": "signoff_pdf"}
    )
    return _pdf_response(content, f"signoff-sheet-{document.pk}.pdf", as_attachment=False)


@require_GET
def verify_lookup(request):
    """Send whoever types a sheet's code to its verification page (no login: anyone may check a sheet)."""
    code = request.GET.get("code", "").strip()
    if not code:
        return render(request, "review/verify.html", {"check": None, "code": ""})
    if parsed := parse_code(code):
        return redirect("review:verify", code="-".join(map(str, parsed)))
    return render(request, "review/verify.html", {"check": None, "code": code}, status=404)


@require_GET
def verify_sheet(request, code):
    """Show whether a printed sign-off sheet still matches the record; 404 when no piece has its number."""
    check = check_code(code)
    return render(request, "review/verify.html", {"check": check, "code": code}, status=200 if check else 404)


def _require_register_keeper(user) -> None:
    if not can_keep_register(user):
        raise PermissionDenied(_("Only auditors and publishers keep the publication register."))


@login_required
@require_GET
def register(request):
    _require_register_keeper(request.user)
    form = RegisterFilterForm(request.GET)
    if form.is_valid():
        publications = Publication.objects.published_between(**form.filters()).for_register().order_by(
            "-published_at", "-pk"
        )
        query = urlencode(form.describe())
    else:
        publications, query = Publication.objects.none(), ""
    page = Paginator(publications, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "review/register.html", {"form": form, "page": page, "query": query})


REGISTER_CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


@never_cache
@login_required
@require_GET
def register_download(request, fmt):
    _require_register_keeper(request.user)
    if fmt not in REGISTER_CONTENT_TYPES:
        raise Http404
    form = RegisterFilterForm(request.GET)
    if not form.is_valid():
        context = {"form": form, "page": Paginator(Publication.objects.none(), PAGE_SIZE).get_page(1), "query": ""}
        return render(request, "review/register.html", context, status=400)
    # The register is kept in the order things went out, numbered from 1.
    publications = (
        Publication.objects.published_between(**form.filters()).for_register().order_by("published_at", "pk")
    )
    if fmt == "pdf":
        from .pdf import register_pdf

        content = register_pdf(publications, form.describe())
    else:
        content = {"csv": register_csv, "xlsx": register_xlsx}[fmt](publications)
    AuditEvent.objects.record(
        action=AuditEvent.Action.DOWNLOADED,
        actor=request.user,
        data={"format": f"register_{fmt}", "filters": form.describe(), "rows": publications.count()},
    )
    response = HttpResponse(content, content_type=REGISTER_CONTENT_TYPES[fmt])
    name = f"publication-register-{timezone.localdate():%Y%m%d}.{fmt}"
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


@login_required
@require_POST
def attachment_add(request, pk):
    document = get_visible_document(request.user, pk)
    if not has_transition_perm(document.submit, request.user):
        error = PermissionDenied(_("Only the drafter can add files, and only before the piece is submitted."))
        return refuse(request, document, "attach", error)
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        context = _detail_context(request, document, attachment_form=form)
        return render(request, "review/document_detail.html", context, status=400)
    try:
        services.attach_file(
            document=document,
            user=request.user,
            upload=form.cleaned_data["file"],
            extension=form.cleaned_data["extension"],
            content_type=form.cleaned_data["content_type"],
        )
    except (PermissionDenied, services.Conflict) as error:
        return refuse(request, document, "attach", error)
    messages.success(request, _("File attached."))
    return redirect(document)


@login_required
@require_GET
def attachment_download(request, pk, attachment_id):
    document = get_visible_document(request.user, pk)
    attachment = get_object_or_404(document.attachments, pk=attachment_id)
    response = FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.original_name)
    response["Content-Type"] = attachment.content_type
    return response


@login_required
@require_POST
def attachment_remove(request, pk, attachment_id):
    document = get_visible_document(request.user, pk)
    attachment = get_object_or_404(document.attachments, pk=attachment_id)
    try:
        services.remove_attachment(attachment=attachment, user=request.user)
    except (PermissionDenied, services.Conflict) as error:
        return refuse(request, document, "remove attachment", error)
    messages.success(request, _("File removed."))
    return redirect(document)
