from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewConfig(AppConfig):
    name = "review"
    verbose_name = _("Review and sign-off")

    def ready(self):
        # Registered once every app is loaded: the audit log's labels, and the check verify_audit runs.
        from accounts.services import role_group_drift  # noqa: PLC0415
        from audit import labels  # noqa: PLC0415
        from audit.verify import register_integrity_check  # noqa: PLC0415

        from .models import AuditAction, Document  # noqa: PLC0415
        from .permissions import grant_drift  # noqa: PLC0415

        labels.register_actions(AuditAction)
        labels.register(Document.State)
        register_integrity_check(grant_drift)
        register_integrity_check(role_group_drift)
