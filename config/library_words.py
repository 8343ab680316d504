"""Words of the libraries we use that they ship in no Chinese: django-axes' admin pages, and a few of Django's own.

They are marked here so that `makemessages` puts them in the project's catalogue, which Django reads before an
app's own: the admin's login attempts, lockouts and access logs, and the empty choice of a list, then read in
the user's language. Nothing imports this module; keep the lists in step with the libraries when upgrading.
"""

from django.utils.translation import gettext_noop

AXES_WORDS = (
    gettext_noop("access attempt"),
    gettext_noop("access attempts"),
    gettext_noop("access attempt expiration"),
    gettext_noop("access attempt expirations"),
    gettext_noop("access failure"),
    gettext_noop("access failures"),
    gettext_noop("access log"),
    gettext_noop("access logs"),
    gettext_noop("Access Attempt"),
    gettext_noop("Access lock out"),
    gettext_noop("Account locked: too many login attempts. Please try again later."),
    gettext_noop("Attempt Remaining"),
    gettext_noop("Attempt Time"),
    gettext_noop("Clean up expired attempts"),
    gettext_noop("Expires At"),
    gettext_noop("Failed Logins"),
    gettext_noop("Form Data"),
    gettext_noop("GET Data"),
    gettext_noop("HTTP Accept"),
    gettext_noop("IP Address"),
    gettext_noop("Locked Out"),
    gettext_noop("Logout Time"),
    gettext_noop("Meta Data"),
    gettext_noop("Not set"),
    gettext_noop("POST Data"),
    gettext_noop("Path"),
    gettext_noop("Session key hash (sha256)"),
    gettext_noop("The time when access attempt expires and is no longer valid."),
    gettext_noop("User Agent"),
    gettext_noop("Username"),
)

DJANGO_WORDS = (
    gettext_noop("- Select an option -"),  # new in Django 6.0, not yet in its Chinese catalogue
)
