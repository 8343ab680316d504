from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("People and departments")

    def ready(self):
        from audit import labels  # noqa: PLC0415 - apps register with the audit log once all are loaded

        from . import signals  # noqa: F401, PLC0415 - connects the login receivers
        from .models import AuditAction, Membership  # noqa: PLC0415

        labels.register_actions(AuditAction)
        labels.register(Membership.Role)
