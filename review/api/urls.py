from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from . import views

app_name = "api"

urlpatterns = [
    path("v1/auth/token/", views.TokenView.as_view(), name="token"),
    path("v1/me/", views.MeView.as_view(), name="me"),
    path("v1/documents/", views.DocumentListView.as_view(), name="documents"),
    path("v1/documents/<int:pk>/", views.DocumentView.as_view(), name="document"),
    path("v1/documents/<int:pk>/submit/", views.SubmitView.as_view(), name="document_submit"),
    path("v1/documents/<int:pk>/correct/", views.CorrectView.as_view(), name="document_correct"),
    path("v1/documents/<int:pk>/claim/", views.ClaimView.as_view(), name="document_claim"),
    path("v1/documents/<int:pk>/release/", views.ReleaseView.as_view(), name="document_release"),
    path("v1/documents/<int:pk>/reassign/", views.ReassignView.as_view(), name="document_reassign"),
    path("v1/documents/<int:pk>/approve/", views.ApproveView.as_view(), name="document_approve"),
    path("v1/documents/<int:pk>/return/", views.ReturnView.as_view(), name="document_return"),
    path("v1/documents/<int:pk>/reject/", views.RejectView.as_view(), name="document_reject"),
    path("v1/documents/<int:pk>/publish/", views.PublishView.as_view(), name="document_publish"),
    path("v1/documents/<int:pk>/withdraw/", views.WithdrawView.as_view(), name="document_withdraw"),
    path("v1/documents/<int:pk>/revisions/", views.RevisionListView.as_view(), name="document_revisions"),
    path("v1/documents/<int:pk>/diff/", views.DiffView.as_view(), name="document_diff"),
    path("v1/documents/<int:pk>/findings/", views.FindingListView.as_view(), name="document_findings"),
    path("v1/documents/<int:pk>/findings/dismiss/", views.DismissFindingView.as_view(), name="document_dismiss"),
    path("v1/documents/<int:pk>/audit/", views.DocumentAuditView.as_view(), name="document_audit"),
    path("v1/documents/<int:pk>/signoff.pdf", views.SignoffSheetView.as_view(), name="document_signoff_sheet"),
    path("v1/queue/", views.QueueView.as_view(), name="queue"),
    path("v1/publish-queue/", views.PublishQueueView.as_view(), name="publish_queue"),
    path("v1/notifications/", views.NotificationListView.as_view(), name="notifications"),
    path("v1/notifications/read/", views.NotificationReadView.as_view(), name="notifications_read"),
    path("v1/error-categories/", views.ErrorCategoryListView.as_view(), name="error_categories"),
    path("v1/audit/", views.AuditLogView.as_view(), name="audit"),
    path("v1/audit/export", views.AuditExportView.as_view(), name="audit_export"),
    path("v1/audit/exports/<int:pk>/manifest/", views.AuditExportManifestView.as_view(), name="audit_export_manifest"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", views.DocsView.as_view(url_name="api:schema"), name="docs"),
    path("docs/redoc.js", views.docs_script, name="docs_script"),
    # Anything else under /api/ (a non-numeric id, a mistyped path) answers 404 in JSON, not an HTML page.
    re_path(r"^.*$", views.NotFoundView.as_view(), name="not_found"),
]
