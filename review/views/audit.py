"""The audit log's pages (auditors and superusers): reading, the chain's verification, downloads."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import FileResponse, Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from audit.exports import CONTENT_TYPES, job_manifest, open_job, record_download, stream_job
from audit.forms import events_matching
from audit.models import AuditEvent, Checkpoint, ExportJob, Verification
from audit.tasks import export_audit_log, verify_audit_chain

from ..forms import AuditFilterForm
from ..models import Document, Role
from ..permissions import require_auditor
from .params import id_param

PAGE_SIZE = 50


def _page(events, *, before: int | None, after: int | None) -> dict:
    """Return one page of events, newest first, found by sequence number rather than by counting rows."""
    if after is not None:
        newer_first = list(events.filter(sequence__gt=after).order_by("sequence")[: PAGE_SIZE + 1])
        if len(newer_first) > PAGE_SIZE:
            rows = newer_first[:PAGE_SIZE][::-1]
            return {"rows": rows, "has_newer": True, "has_older": events.filter(sequence__lte=after).exists()}
        before = None  # Fewer than a page is newer: that is the newest page.
    newest_first = events.order_by("-sequence")
    if before is not None:
        newest_first = newest_first.filter(sequence__lt=before)
    rows = list(newest_first[: PAGE_SIZE + 1])
    return {
        "rows": rows[:PAGE_SIZE],
        "has_older": len(rows) > PAGE_SIZE,
        "has_newer": before is not None and events.filter(sequence__gte=before).exists(),
    }


def _verification_context() -> dict:
    """Return the newest finished verification, and one still running, for the chain's panel."""
    finished = Verification.objects.filter(status=Verification.Status.DONE).first()
    running = Verification.objects.exclude(status=Verification.Status.DONE).filter(kind=Verification.Kind.FULL).first()
    full = Verification.objects.filter(status=Verification.Status.DONE, kind=Verification.Kind.FULL).first()
    return {"verification": finished, "running": running, "last_full": full}


@login_required
@require_GET
def audit_log(request):
    require_auditor(request.user)
    form = AuditFilterForm(request.GET or None)
    events = AuditEvent.objects.all()
    if form.is_bound:
        events = events_matching(form.criteria()) if form.is_valid() else events.none()
    page = _page(events, before=id_param(request.GET.get("before")), after=id_param(request.GET.get("after")))
    document_type = Document._meta.label_lower
    if ids := {event.object_id for event in page["rows"] if event.object_type == document_type}:
        linkable = set(Document.objects.visible_to(request.user).filter(pk__in=ids).values_list("pk", flat=True))
        for event in page["rows"]:
            event.linkable = event.object_type == document_type and event.object_id in linkable
    context = {
        "form": form,
        "page": page,
        "head": AuditEvent.objects.head(),
        "checkpoint": Checkpoint.objects.latest_signed(),
        "filters": form.describe() if form.is_bound and form.is_valid() else {},
        "formats": ExportJob.Format.choices,
        "exports": ExportJob.objects.filter(requested_by=request.user)[:5],
        **_verification_context(),
    }
    return render(request, "review/audit_log.html", context)


@login_required
@require_GET
def audit_verification(request):
    """The chain's panel: the newest verification's result and any full one still running (polled by htmx)."""
    require_auditor(request.user)
    return _verification_panel(request)


def _verification_panel(request):
    context = {"head": AuditEvent.objects.head(), "checkpoint": Checkpoint.objects.latest_signed()}
    return render(request, "review/_audit_verification.html", {**context, **_verification_context()})


@login_required
@require_POST
def audit_verify(request):
    """Start a full verification of the chain in the background; the panel shows its progress."""
    require_auditor(request.user)
    with transaction.atomic():
        running = Verification.objects.exclude(status=Verification.Status.DONE).filter(kind=Verification.Kind.FULL)
        if not running.exists():
            run = Verification.objects.create(kind=Verification.Kind.FULL, requested_by=request.user)
            transaction.on_commit(lambda: verify_audit_chain.enqueue(run.pk))
    if request.headers.get("HX-Request"):
        # The panel itself (audit_verification answers GET only, as htmx polls it).
        return _verification_panel(request)
    messages.success(request, _("The whole chain is being verified; this page shows the progress."))
    return redirect("review:audit")


def _auditor_role(user) -> str:
    return Role.AUDITOR if user.memberships.filter(role=Role.AUDITOR).exists() else ""


@login_required
@require_POST
def audit_export_create(request):
    require_auditor(request.user)
    form = AuditFilterForm(request.POST)
    export_format = request.POST.get("format", "")
    if export_format not in ExportJob.Format.values or not form.is_valid():
        messages.error(request, _("Choose a format and a valid period to download."))
        query = {name: request.POST.get(name) for name in form.fields if request.POST.get(name)}
        return redirect(f"{reverse('review:audit')}?{urlencode(query)}")
    return start_export(request, export_format, form)


def start_export(request, export_format: str, form: AuditFilterForm):
    """Open an export of the filtered log: streamed at once (CSV, JSON Lines), or a page that follows the job."""
    criteria = form.criteria()
    # A download from the page is read by a person, in their language; the API's CSV keeps to the codes.
    language = "" if request.path.startswith("/api/") else translation.get_language()
    with transaction.atomic():
        job = ExportJob.objects.create(
            requested_by=request.user, format=export_format, filters=criteria, language=language
        )
        if job.is_streamed:
            # A download from this moment: recorded before the head is taken, so the manifest's head covers it.
            record_download(
                format=export_format, filters=criteria, actor=request.user, actor_role=_auditor_role(request.user),
                export_job=job.pk,
            )  # fmt: skip
        open_job(job)
        if not job.is_streamed:
            transaction.on_commit(lambda: export_audit_log.enqueue(job.pk))
    if not job.is_streamed:
        return redirect("review:audit_export", pk=job.pk)
    response = StreamingHttpResponse(stream_job(job, events_matching(criteria)), content_type=CONTENT_TYPES[job.format])
    return as_download(request, response, job)


def as_download(request, response, job: ExportJob):
    response["Content-Disposition"] = content_disposition_header(True, job.download_name)
    manifest = "api:audit_export_manifest" if request.path.startswith("/api/") else "review:audit_export_manifest"
    response["X-Export-Manifest"] = request.build_absolute_uri(reverse(manifest, args=[job.pk]))
    return response


def get_export_job(user, pk) -> ExportJob:
    """Return an audit log export to the auditor who asked for it (or a superuser); otherwise 403 or 404."""
    require_auditor(user)
    job = get_object_or_404(ExportJob.objects.select_related("requested_by"), pk=pk)
    if job.requested_by_id != user.pk and not user.is_superuser:
        raise PermissionDenied
    return job


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
    record_download(
        format=job.format, filters=job.filters, actor=request.user, actor_role=_auditor_role(request.user),
        export_job=job.pk,
    )  # fmt: skip
    response = FileResponse(job.file.open("rb"), content_type=CONTENT_TYPES[job.format])
    return as_download(request, response, job)


@login_required
@require_GET
def audit_export_manifest(request, pk):
    job = get_export_job(request.user, pk)
    response = JsonResponse(job_manifest(job), json_dumps_params={"ensure_ascii": False, "indent": 2})
    response["Content-Disposition"] = content_disposition_header(False, f"{job.download_name}.manifest.json")
    return response
