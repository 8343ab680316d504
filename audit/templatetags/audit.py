from django import template

from .. import labels
from ..pdf import zoned as zoned_time

register = template.Library()


@register.filter
def label(code: str) -> str:
    """Return how a code stored in the log (an action, a state, a role) reads in the active language."""
    return labels.label(code) if code else ""


@register.filter
def zoned(value) -> str:
    """Return a moment with its zone and UTC offset, short enough for a table cell."""
    return zoned_time(value)
