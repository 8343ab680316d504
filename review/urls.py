from django.urls import path

from . import views

app_name = "review"

urlpatterns = [
    path("", views.home, name="home"),
    path("queue/", views.queue, name="queue"),
    path("documents/", views.document_list, name="documents"),
    path("documents/new/", views.document_create, name="document_create"),
    path("documents/<int:pk>/", views.document_detail, name="document"),
    path("documents/<int:pk>/edit/", views.document_edit, name="document_edit"),
    path("documents/<int:pk>/submit/", views.document_submit, name="document_submit"),
    path("documents/<int:pk>/approve/", views.document_approve, name="document_approve"),
    path("documents/<int:pk>/return/", views.document_return, name="document_return"),
    path("documents/<int:pk>/reject/", views.document_reject, name="document_reject"),
    path("documents/<int:pk>/publish/", views.document_publish, name="document_publish"),
    path("documents/<int:pk>/withdraw/", views.document_withdraw, name="document_withdraw"),
    path("documents/<int:pk>/attachments/", views.attachment_add, name="attachment_add"),
    path("documents/<int:pk>/attachments/<int:attachment_id>/", views.attachment_download, name="attachment"),
    path(
        "documents/<int:pk>/attachments/<int:attachment_id>/remove/", views.attachment_remove, name="attachment_remove"
    ),
    path("documents/<int:pk>/signoff.pdf", views.signoff_sheet, name="signoff_sheet"),
    path("verify/", views.verify_lookup, name="verify_lookup"),
    path("verify/<str:code>/", views.verify_sheet, name="verify"),
    path("register/", views.register, name="register"),
    path("register.<str:fmt>", views.register_download, name="register_download"),
    path("audit/", views.audit_log, name="audit"),
    path("audit/verify/", views.audit_verify, name="audit_verify"),
    path("audit/exports/", views.audit_export_create, name="audit_export_create"),
    path("audit/exports/<int:pk>/", views.audit_export, name="audit_export"),
    path("audit/exports/<int:pk>/download/", views.audit_export_download, name="audit_export_download"),
    path("audit/exports/<int:pk>/manifest.json", views.audit_export_manifest, name="audit_export_manifest"),
]
