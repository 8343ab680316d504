"""API views: thin like the web views, through the same services. Fetch with permission (404 when the caller
may not see the piece), read the body, call one service, answer with the piece as it now is.

A service's refusal answers as the contract says: 400 input (messages per field), 403 the caller may see the
piece but not do this, 409 the piece is not in a state for this (or someone else acted first), 429 locked out.
Every error, wherever it arises, is JSON.
"""

import functools
from pathlib import Path

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.db.models import Prefetch
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.decorators import method_decorator
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csp import csp_override
from django.views.decorators.http import require_GET
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from drf_spectacular.views import SpectacularRedocView
from rest_framework import exceptions, generics, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from accounts.models import Membership, User
from accounts.tokens import issue_token
from audit.exports import job_manifest
from audit.forms import events_matching
from audit.models import AuditEvent, ExportJob

from .. import prechecks, redline, services
from ..forms import AuditFilterForm
from ..models import Channel, Document, ErrorCategory, StageReview
from ..permissions import actions_for, get_visible_document, require_auditor
from ..views.audit import get_export_job, start_export
from . import serializers
from .pagination import AuditPagination


class ConflictError(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = gettext_lazy("The piece is not in a state for this action.")
    default_code = "conflict"


class LockedError(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = gettext_lazy("Too many failed attempts: locked for a while. Try again later.")
    default_code = "locked_out"


class TooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = gettext_lazy("The request body is too large.")
    default_code = "too_large"


def as_api_error(exc: Exception) -> Exception:
    """Return the API exception that answers `exc` (a service's refusal, an oversized or malformed request)."""
    if isinstance(exc, services.Conflict):
        return ConflictError(exc.message)
    if isinstance(exc, services.Locked):
        return LockedError(exc.message)
    if isinstance(exc, services.Invalid):
        return exceptions.ValidationError({exc.field or "non_field_errors": [exc.message]})
    if isinstance(exc, services.NotAllowed):
        return exceptions.PermissionDenied(exc.message)
    if isinstance(exc, PermissionDenied) and str(exc):
        return exceptions.PermissionDenied(str(exc))  # DRF would answer its generic message instead
    if isinstance(exc, RequestDataTooBig):
        return TooLarge()
    if isinstance(exc, SuspiciousOperation):
        return exceptions.ParseError(_("The request is malformed."))
    return exc


def exception_handler(exc, context):
    """DRF's handler, for the services' refusals and malformed requests too: every error answers in JSON."""
    return drf_exception_handler(as_api_error(exc), context)


def detail(request, document: Document) -> dict:
    """Return the piece as stored now, with its signatures and what the caller may do with it."""
    document = (
        Document.objects.with_related()
        .select_related("current_revision")
        .prefetch_related(
            Prefetch(
                "stage_reviews",
                queryset=StageReview.objects.select_related("stage", "revision", "claimed_by")
                .prefetch_related("stage__checklist", "answers__item", "errors__category")
                .order_by("round", "stage__position", "pk"),
            ),
            Prefetch("publications__publisher"),
        )
        .get(pk=document.pk)
    )
    context = {"request": request, "actions": actions_for(document, request.user)}
    return serializers.DocumentDetailSerializer(document, context=context).data


ERRORS = {
    400: OpenApiResponse(OpenApiTypes.OBJECT, description="Invalid input: a list of messages per field."),
    401: OpenApiResponse(serializers.ErrorSerializer, description="No valid credentials."),
    403: OpenApiResponse(serializers.ErrorSerializer, description="The caller may not do this."),
    404: OpenApiResponse(serializers.ErrorSerializer, description="No such piece, or the caller may not see it."),
    409: OpenApiResponse(serializers.ErrorSerializer, description="The piece is not in a state for this action."),
    429: OpenApiResponse(serializers.ErrorSerializer, description="Too many attempts: locked or throttled."),
}


def errors(*codes: int) -> dict:
    return {code: ERRORS[code] for code in codes}


class FirstRendererNegotiation(BaseContentNegotiation):
    """Answer files whatever Accept says; errors then come as JSON."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


# Signing in.


class TokenView(APIView):
    """Exchange a user name and password for a new API token (kept only as its hash; it expires)."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (ScopedRateThrottle,)
    throttle_scope = "token"
    parser_classes = (JSONParser, FormParser)

    @extend_schema(
        request=serializers.TokenRequestSerializer,
        responses={200: serializers.TokenSerializer, **errors(400, 429)},
        auth=[],
        summary="Get an API token",
    )
    def post(self, request):
        serializer = serializers.TokenRequestSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        key = issue_token(user)
        # A token handed out is a login: the audit log records it, and axes resets its count.
        user_logged_in.send(sender=type(user), request=request._request, user=user)
        return Response({"token": key})


class MeView(APIView):
    @extend_schema(responses={200: serializers.MeSerializer, **errors(401)}, summary="Who the caller is")
    def get(self, request):
        user = User.objects.prefetch_related(
            Prefetch("memberships", queryset=Membership.objects.select_related("department"))
        ).get(pk=request.user.pk)
        return Response(serializers.MeSerializer(user).data)


# Pieces.


@extend_schema_view(
    get=extend_schema(
        parameters=[serializers.DocumentFilterSerializer],
        responses={200: serializers.DocumentSerializer(many=True), **errors(400, 401)},
        summary="The pieces the caller may see",
    ),
    post=extend_schema(
        request=serializers.DocumentWriteSerializer,
        responses={201: serializers.DocumentDetailSerializer, **errors(400, 401, 403)},
        summary="Save a new draft",
    ),
)
class DocumentListView(generics.ListCreateAPIView):
    serializer_class = serializers.DocumentSerializer

    def get_queryset(self):
        filters = serializers.DocumentFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        documents = Document.objects.visible_to(self.request.user).with_related()
        return documents.matching(self.request.user, **filters.validated_data)

    def create(self, request, *args, **kwargs):
        with services.refused_as("create", request.user):
            services.check_can_draft(request.user)
        serializer = serializers.DocumentWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        document = services.create_document(drafter=request.user, **serializer.validated_data)
        location = reverse("api:document", args=[document.pk])
        return Response(detail(request, document), status=status.HTTP_201_CREATED, headers={"Location": location})


class DocumentView(generics.GenericAPIView):
    serializer_class = serializers.DocumentDetailSerializer

    @extend_schema(responses={200: serializers.DocumentDetailSerializer, **errors(401, 404)}, summary="One piece")
    def get(self, request, pk):
        return Response(detail(request, get_visible_document(request.user, pk)))

    @extend_schema(
        request=serializers.DocumentUpdateSerializer,
        responses={200: serializers.DocumentDetailSerializer, **errors(400, 401, 403, 404, 409)},
        summary="Change the piece (its drafter); a piece in review or approved goes back to its first stage",
    )
    def patch(self, request, pk):
        document = get_visible_document(request.user, pk)
        # Who and when come before what: a late or unauthorised edit is refused whatever the body holds.
        with services.refused_as("edit", request.user, document):
            services.check_revisable(document, request.user)
        serializer = serializers.DocumentUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        services.edit_document(document=document, user=request.user, **serializer.validated_data)
        return Response(detail(request, document))


class PieceActionView(APIView):
    """A POST action on a piece through one service. Who and when come before what: a late or unauthorised
    request is refused (and recorded) by the service's check whatever the body holds; then the body is read."""

    attempted = ""
    check = None  # the service's check of when and who: check(document, user) raises or returns
    serializer_class = None

    def post(self, request, pk):
        document = get_visible_document(request.user, pk)
        with services.refused_as(self.attempted, request.user, document):
            type(self).check(document, request.user)
        serializer = self.serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.act(document, request.user, serializer.validated_data)
        return Response(self.answer(request, document))

    def act(self, document, user, data) -> None:
        raise NotImplementedError

    def answer(self, request, document):
        return detail(request, document)


PIECE_ACTION_RESPONSES = {200: serializers.DocumentDetailSerializer, **errors(400, 401, 403, 404, 409)}


@extend_schema_view(
    post=extend_schema(
        request=serializers.SubmitSerializer,
        responses=PIECE_ACTION_RESPONSES,
        summary="Send the piece to its first review stage",
    )
)
class SubmitView(PieceActionView):
    attempted, check, serializer_class = "submit", services.check_submittable, serializers.SubmitSerializer
    # Submitting took no body before the note existed: a client posting an empty form still may.
    parser_classes = (JSONParser, FormParser, MultiPartParser)

    def act(self, document, user, data) -> None:
        services.submit_document(document=document, user=user, note=data["note"])


@extend_schema_view(
    post=extend_schema(
        request=serializers.CorrectionSerializer,
        responses=PIECE_ACTION_RESPONSES,
        summary="Correct the text at the current stage (校对): a new revision in the reviewer's name",
    )
)
class CorrectView(PieceActionView):
    attempted, check, serializer_class = "correct", services.check_correctable, serializers.CorrectionSerializer

    def act(self, document, user, data) -> None:
        services.correct_document(document=document, user=user, **data)


class DecisionView(APIView):
    """Approve, return or reject the piece at its current stage."""

    attempted = ""
    serializer_class = serializers.ReasonSerializer

    def post(self, request, pk):
        document = get_visible_document(request.user, pk)
        serializer = self.serializer_class(data=request.data)
        if not serializer.is_valid():
            # Who and when come before what: a late or unauthorised decision is refused whatever the body holds.
            with services.refused_as(self.attempted, request.user, document):
                services.check_decision(document=document, user=request.user, review_id=_review_id(request.data))
            raise exceptions.ValidationError(serializer.errors)
        self.decide(document, request.user, serializer.validated_data)
        return Response(detail(request, document))

    def decide(self, document, user, data) -> None:
        raise NotImplementedError


def _review_id(data) -> int | None:
    """Return the stage review a decision names, when it names one as a plain integer."""
    value = data.get("review") if isinstance(data, dict) else None
    return value if type(value) is int else None


DECISION_RESPONSES = {200: serializers.DocumentDetailSerializer, **errors(400, 401, 403, 404, 409, 429)}


@extend_schema_view(
    post=extend_schema(
        request=serializers.ApproveSerializer,
        responses=DECISION_RESPONSES,
        summary="Sign off the current stage (an electronic signature: the password is required)",
    )
)
class ApproveView(DecisionView):
    attempted = "approve"
    serializer_class = serializers.ApproveSerializer

    def decide(self, document, user, data) -> None:
        services.approve(
            document=document, user=user, password=data["password"], opinion=data["opinion"],
            review_id=data.get("review"), checklist=data["checklist"], errors=data["errors"],
        )  # fmt: skip


@extend_schema_view(
    post=extend_schema(
        request=serializers.ReasonSerializer,
        responses=DECISION_RESPONSES,
        summary="Return the piece to its drafter for changes",
    )
)
class ReturnView(DecisionView):
    attempted = "return"

    def decide(self, document, user, data) -> None:
        services.return_for_changes(document=document, user=user, reason=data["reason"], review_id=data.get("review"))


@extend_schema_view(
    post=extend_schema(request=serializers.ReasonSerializer, responses=DECISION_RESPONSES, summary="Reject the piece")
)
class RejectView(DecisionView):
    attempted = "reject"

    def decide(self, document, user, data) -> None:
        services.reject(document=document, user=user, reason=data["reason"], review_id=data.get("review"))


@extend_schema_view(
    post=extend_schema(request=None, responses=PIECE_ACTION_RESPONSES, summary="Claim the current stage: I am on it")
)
class ClaimView(PieceActionView):
    attempted, check, serializer_class = "claim", services.check_reviewer, serializers.NothingSerializer
    parser_classes = (JSONParser, FormParser, MultiPartParser)  # no body needed, whatever a client sends

    def act(self, document, user, data) -> None:
        services.claim(document=document, user=user)


@extend_schema_view(
    post=extend_schema(
        request=None, responses=PIECE_ACTION_RESPONSES, summary="Release the current stage to everyone holding its role"
    )
)
class ReleaseView(PieceActionView):
    attempted, check, serializer_class = "release", services.check_releasable, serializers.NothingSerializer
    parser_classes = (JSONParser, FormParser, MultiPartParser)

    def act(self, document, user, data) -> None:
        services.release(document=document, user=user)


@extend_schema_view(
    post=extend_schema(
        request=serializers.ReassignSerializer,
        responses=PIECE_ACTION_RESPONSES,
        summary="Hand the current stage to someone who may act there (the department head or an administrator)",
    )
)
class ReassignView(PieceActionView):
    attempted, check, serializer_class = "reassign", services.check_reassigner, serializers.ReassignSerializer

    def act(self, document, user, data) -> None:
        services.reassign(document=document, user=user, to=data["to"])


@extend_schema_view(
    post=extend_schema(
        request=serializers.PublishSerializer,
        responses=PIECE_ACTION_RESPONSES,
        summary="Record that the approved piece went out on a channel",
    )
)
class PublishView(PieceActionView):
    attempted, check, serializer_class = "publish", services.check_publishable, serializers.PublishSerializer

    def act(self, document, user, data) -> None:
        services.publish(document=document, user=user, **data)


@extend_schema_view(
    post=extend_schema(
        request=serializers.WithdrawSerializer,
        responses=PIECE_ACTION_RESPONSES,
        summary="Withdraw the piece (its drafter): it leaves review and can no longer be published",
    )
)
class WithdrawView(PieceActionView):
    attempted, check, serializer_class = "withdraw", services.check_withdrawable, serializers.WithdrawSerializer

    def act(self, document, user, data) -> None:
        services.withdraw(document=document, user=user, reason=data["reason"])


@extend_schema_view(
    get=extend_schema(
        responses={200: serializers.RevisionSerializer(many=True), **errors(401, 404)},
        summary="Every revision of the piece, oldest first",
    )
)
class RevisionListView(generics.ListAPIView):
    serializer_class = serializers.RevisionSerializer
    pagination_class = None

    def get_queryset(self):
        document = get_visible_document(self.request.user, self.kwargs["pk"])
        return document.revisions.select_related("author", "stage").order_by("number")


class FindingListView(APIView):
    @extend_schema(
        responses={200: serializers.FindingSerializer(many=True), **errors(401, 404)},
        summary="What the automated pre-checks find in the piece as it now is",
    )
    def get(self, request, pk):
        document = get_visible_document(request.user, pk)
        return Response([finding.as_dict() for finding in prechecks.findings_for(document)])


@extend_schema_view(
    post=extend_schema(
        request=serializers.DismissSerializer,
        responses={200: serializers.FindingSerializer(many=True), **errors(400, 401, 403, 404, 409)},
        summary="Dismiss a finding that does not apply, with the reason (the reviewer at the current stage)",
    )
)
class DismissFindingView(PieceActionView):
    attempted, check, serializer_class = "dismiss finding", services.check_reviewer, serializers.DismissSerializer

    def act(self, document, user, data) -> None:
        services.dismiss_finding(document=document, user=user, **data)

    def answer(self, request, document):
        return [finding.as_dict() for finding in prechecks.findings_for(document)]


class DiffView(APIView):
    @extend_schema(
        parameters=[serializers.DiffQuerySerializer],
        responses={200: serializers.DiffSerializer(many=True), **errors(400, 401, 404)},
        summary="What changed between two revisions, character by character",
        description="Operations that turn revision `from` (its title, a blank line, its text) into revision `to`.",
    )
    def get(self, request, pk):
        document = get_visible_document(request.user, pk)
        query = serializers.DiffQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        revisions = {r.number: r for r in document.revisions.filter(number__in=query.validated_data.values())}
        missing = {name: [_("This piece has no revision %(number)s.") % {"number": number}]
                   for name, number in query.validated_data.items() if number not in revisions}  # fmt: skip
        if missing:
            raise exceptions.ValidationError(missing)
        old, new = revisions[query.validated_data["from"]], revisions[query.validated_data["to"]]
        return Response(redline.diff_revisions(old, new))


NOTIFICATIONS_SHOWN = 50


class PublishQueueView(APIView):
    @extend_schema(
        responses={200: serializers.PublishQueueChannelSerializer(many=True), **errors(401)},
        summary="What waits to be published, by channel: approved pieces not yet out there (publish each with "
        "`POST /api/v1/documents/{id}/publish/`)",
    )
    def get(self, request):
        waiting = Document.objects.publishing_queue(request.user)
        return Response(
            [
                {
                    "channel": code,
                    "label": label,
                    "documents": serializers.DocumentSerializer(waiting[code], many=True).data,
                }
                for code, label in Channel.choices
                if code in waiting
            ]
        )


class NotificationListView(APIView):
    @extend_schema(
        responses={200: serializers.NotificationListSerializer, **errors(401)},
        summary="The caller's notifications, newest first (the latest 50), and how many are unread",
    )
    def get(self, request):
        notifications = request.user.notifications.select_related("document")
        results = serializers.NotificationSerializer(notifications[:NOTIFICATIONS_SHOWN], many=True).data
        return Response({"unread": notifications.filter(read_at__isnull=True).count(), "results": results})


class NotificationReadView(APIView):
    @extend_schema(
        request=serializers.NotificationReadSerializer,
        responses={200: serializers.UnreadSerializer, **errors(400, 401)},
        summary="Mark notifications read: those named in `ids`, or all",
    )
    def post(self, request):
        serializer = serializers.NotificationReadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        unread = request.user.notifications.filter(read_at__isnull=True)
        chosen = (
            unread.filter(pk__in=serializer.validated_data["ids"]) if "ids" in serializer.validated_data else unread
        )
        chosen.update(read_at=timezone.now())
        return Response({"unread": unread.count()})


@extend_schema_view(
    get=extend_schema(
        responses={200: serializers.DocumentEventSerializer(many=True), **errors(401, 404)},
        summary="The piece's history from the audit log, oldest first",
        description=(
            "For everyone who may see the piece (its web page shows the same history). Auditors who need every "
            "field, with network details and hashes, use /api/v1/audit/?document={id}."
        ),
    )
)
class DocumentAuditView(generics.ListAPIView):
    serializer_class = serializers.DocumentEventSerializer

    def get_queryset(self):
        document = get_visible_document(self.request.user, self.kwargs["pk"])
        return AuditEvent.objects.about(document).order_by("sequence")


class SignoffSheetView(APIView):
    renderer_classes = (JSONRenderer,)
    content_negotiation_class = FirstRendererNegotiation

    @extend_schema(
        responses={(200, "application/pdf"): OpenApiTypes.BINARY, **errors(401, 404)},
        summary="The piece's sign-off sheet (审签单) as a PDF",
    )
    def get(self, request, pk):
        document = get_visible_document(request.user, pk)
        content = services.signoff_sheet(document=document, user=request.user, base_url=request.build_absolute_uri("/"))
        response = HttpResponse(content, content_type="application/pdf")
        response["Content-Disposition"] = content_disposition_header(False, f"signoff-sheet-{document.pk}.pdf")
        response["Cache-Control"] = "no-store"
        return response


@extend_schema_view(
    get=extend_schema(
        responses={200: serializers.ErrorCategorySerializer(many=True), **errors(401)},
        summary="The categories of errors a proofreader counts, with their weights",
    )
)
class ErrorCategoryListView(generics.ListAPIView):
    serializer_class = serializers.ErrorCategorySerializer
    pagination_class = None

    def get_queryset(self):
        return ErrorCategory.objects.filter(is_active=True)


@extend_schema_view(
    get=extend_schema(
        responses={200: serializers.DocumentSerializer(many=True), **errors(401)},
        summary="The pieces waiting for the caller's decision, earliest due first",
    )
)
class QueueView(generics.ListAPIView):
    serializer_class = serializers.DocumentSerializer

    def get_queryset(self):
        return Document.objects.awaiting(self.request.user).with_related()


# The audit log (auditors and superusers).


def audit_filters(query_params) -> AuditFilterForm:
    """Return the audit page's filter form, validated; 400 with its messages when invalid."""
    form = AuditFilterForm(query_params)
    if not form.is_valid():
        raise exceptions.ValidationError(
            {
                "non_field_errors" if field == "__all__" else field: [error["message"] for error in field_errors]
                for field, field_errors in form.errors.get_json_data().items()
            }
        )
    return form


@extend_schema_view(
    get=extend_schema(
        parameters=[serializers.AuditFilterSerializer],
        responses={200: serializers.AuditEventSerializer(many=True), **errors(400, 401, 403)},
        summary="The audit log, newest first (auditors)",
    )
)
class AuditLogView(generics.ListAPIView):
    serializer_class = serializers.AuditEventSerializer
    pagination_class = AuditPagination

    def get_queryset(self):
        require_auditor(self.request.user)
        return events_matching(audit_filters(self.request.query_params).criteria())


class AuditExportView(APIView):
    renderer_classes = (JSONRenderer,)
    content_negotiation_class = FirstRendererNegotiation

    @extend_schema(
        parameters=[serializers.AuditExportSerializer],
        responses={
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, "application/jsonl"): OpenApiTypes.BINARY,
            **errors(400, 401, 403),
        },
        summary="Download the (filtered) audit log as CSV or JSON Lines (auditors)",
        description=(
            "Streamed; the download is itself an audit event. The X-Export-Manifest header links to the "
            "manifest: row count, first and last event, the chain head and the signed checkpoint the export "
            "stops at, and the file's SHA-256."
        ),
    )
    def get(self, request):
        require_auditor(request.user)
        export_format = request.query_params.get("format", "")
        if export_format not in ExportJob.STREAMED_FORMATS:
            raise exceptions.ValidationError({"format": [_("Choose csv or jsonl.")]})
        return start_export(request, export_format, audit_filters(request.query_params))


class AuditExportManifestView(APIView):
    @extend_schema(
        responses={200: serializers.ExportManifestSerializer, **errors(401, 403, 404)},
        summary="The manifest of an audit log download (the auditor who made it, or a superuser)",
    )
    def get(self, request, pk):
        return Response(job_manifest(get_export_job(request.user, pk)))


class NotFoundView(APIView):
    """Any address under /api/ that names nothing (a non-numeric id, a mistyped path): 404 in JSON."""

    permission_classes = (AllowAny,)
    authentication_classes = ()

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        raise exceptions.NotFound(_("There is nothing at this address."))

    post = put = patch = delete = get


# The schema's readable page.

# Redoc sets its styles from script and searches in a worker; only this page allows that.
DOCS_CSP = {
    **getattr(settings, "SECURE_CSP", {}),
    "style-src": ["'self'", "'unsafe-inline'"],
    "worker-src": ["'self'", "blob:"],
}


# Redoc's sidebar shows Redocly's logo from their server, which the CSP refuses (an error in the console on every
# visit, and a request to elsewhere were it allowed): its bundle is served from here with an empty picture instead.
REDOC_BUNDLE = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
REDOCLY_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
NO_LOGO = b"data:image/svg+xml,%3Csvg%20xmlns=%27http://www.w3.org/2000/svg%27/%3E"


@functools.cache
def redoc_bundle() -> bytes:
    """Return drf-spectacular-sidecar's Redoc bundle, Redocly's remote logo left out."""
    return Path(finders.find(REDOC_BUNDLE)).read_bytes().replace(REDOCLY_LOGO, NO_LOGO)


@require_GET
def docs_script(request):
    response = HttpResponse(redoc_bundle(), content_type="text/javascript; charset=utf-8")
    patch_cache_control(response, public=True, max_age=24 * 60 * 60)
    return response


@method_decorator(csp_override(DOCS_CSP), name="get")
class DocsView(SpectacularRedocView):
    template_name = "review/api/docs.html"

    @staticmethod
    def _redoc_standalone():
        return reverse("api:docs_script")
