from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("People and departments")

    def ready(self):
        from . import signals  # noqa: F401, PLC0415 - connects the receivers that record logins
