from django.urls import path

from .views import attachments, audit, notifications, pieces, register, sheets, statistics

app_name = "review"

urlpatterns = [
    path("", pieces.home, name="home"),
    path("queue/", pieces.queue, name="queue"),
    path("documents/", pieces.document_list, name="documents"),
    path("publish/", pieces.publish_queue, name="publish_queue"),
    path("statistics/", statistics.statistics_page, name="statistics"),
    path("documents/new/", pieces.document_create, name="document_create"),
    path("documents/<int:pk>/", pieces.document_detail, name="document"),
    path("documents/<int:pk>/edit/", pieces.document_edit, name="document_edit"),
    path("documents/<int:pk>/submit/", pieces.document_submit, name="document_submit"),
    path("documents/<int:pk>/correct/", pieces.document_correct, name="document_correct"),
    path("documents/<int:pk>/claim/", pieces.document_claim, name="document_claim"),
    path("documents/<int:pk>/release/", pieces.document_release, name="document_release"),
    path("documents/<int:pk>/reassign/", pieces.document_reassign, name="document_reassign"),
    path("documents/<int:pk>/approve/", pieces.document_approve, name="document_approve"),
    path("documents/<int:pk>/return/", pieces.document_return, name="document_return"),
    path("documents/<int:pk>/reject/", pieces.document_reject, name="document_reject"),
    path("documents/<int:pk>/publish/", pieces.document_publish, name="document_publish"),
    path("documents/<int:pk>/withdraw/", pieces.document_withdraw, name="document_withdraw"),
    path("documents/<int:pk>/findings/dismiss/", pieces.document_dismiss, name="document_dismiss"),
    path("documents/<int:pk>/attachments/", attachments.attachment_add, name="attachment_add"),
    path("documents/<int:pk>/attachments/<int:attachment_id>/", attachments.attachment_download, name="attachment"),
    path(
        "documents/<int:pk>/attachments/<int:attachment_id>/remove/",
        attachments.attachment_remove,
        name="attachment_remove",
    ),
    path("documents/<int:pk>/signoff.pdf", sheets.signoff_sheet, name="signoff_sheet"),
    path("verify/", sheets.verify_lookup, name="verify_lookup"),
    path("verify/<str:code>/", sheets.verify_sheet, name="verify"),
    path("notifications/", notifications.notification_list, name="notifications"),
    path("notifications/read/", notifications.notification_read, name="notification_read"),
    path("notifications/settings/", notifications.notification_settings, name="notification_settings"),
    path("register/", register.register, name="register"),
    path("register.<str:fmt>", register.register_download, name="register_download"),
    path("audit/", audit.audit_log, name="audit"),
    path("audit/verification/", audit.audit_verification, name="audit_verification"),
    path("audit/verify/", audit.audit_verify, name="audit_verify"),
    path("audit/exports/", audit.audit_export_create, name="audit_export_create"),
    path("audit/exports/<int:pk>/", audit.audit_export, name="audit_export"),
    path("audit/exports/<int:pk>/download/", audit.audit_export_download, name="audit_export_download"),
    path("audit/exports/<int:pk>/manifest.json", audit.audit_export_manifest, name="audit_export_manifest"),
]
