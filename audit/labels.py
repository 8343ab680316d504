"""How codes stored in the log are shown: each app registers the labels of its codes when it starts.

The audit log knows nothing of what the other apps do. Events keep short codes (an action, a state, a role);
each app names its codes in TextChoices classes and registers them here (in AppConfig.ready), so the log can
show them in the reader's language and offer its actions as a filter.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

_actions: dict[str, str] = {}
_words: dict[str, str] = {}


def register_actions(choices: type[models.TextChoices]) -> None:
    """Make the actions of `choices` known to the audit log: their labels and the filter's choices."""
    _actions.update(choices.choices)


def register(choices: type[models.TextChoices]) -> None:
    """Make other codes events carry (states, roles) show by their labels."""
    _words.update(choices.choices)


def label(code: str) -> str:
    """Return the label of a code in the active language, or the code itself when it is not registered."""
    return str(_actions.get(code) or _words.get(code) or code)


def action_choices() -> list[tuple[str, str]]:
    """Return every registered action as (code, label), in the order they were registered."""
    return list(_actions.items())


class Action(models.TextChoices):
    """What the audit log itself records: downloads, refusals and changes made in the admin."""

    DOWNLOADED = "downloaded", _("Downloaded")
    REFUSED = "refused", _("Refused")
    ADMIN_ADDED = "admin_added", _("Added in the admin")
    ADMIN_CHANGED = "admin_changed", _("Changed in the admin")
    ADMIN_DELETED = "admin_deleted", _("Deleted in the admin")


register_actions(Action)
