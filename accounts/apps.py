import axes.apps
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    default = True  # the app's own configuration; AxesConfig below is for django-axes
    name = "accounts"
    verbose_name = _("People and departments")

    def ready(self):
        from . import signals  # noqa: F401, PLC0415 - connects the receivers that record logins


class AxesConfig(axes.apps.AppConfig):
    """django-axes (login throttling), named in the admin in the user's language (words: config/library_words.py)."""

    verbose_name = _("Login attempts and lockouts")
