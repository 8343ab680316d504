from django import template
from django.utils import translation

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


@register.filter
def refusal_reason(data: dict) -> str:
    """Return why an action was refused, in the active language where the event holds it in that language."""
    reasons = data.get("reasons") or {}
    return reasons.get(translation.get_language()) or data.get("reason", "")
