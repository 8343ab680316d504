from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewConfig(AppConfig):
    name = "review"
    verbose_name = _("Review and sign-off")

    def ready(self):
        from . import permissions  # noqa: F401, PLC0415 - registers the grants' integrity check with verify_audit
