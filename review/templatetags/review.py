from django import template
from django.utils.safestring import mark_safe

from ..models import Document
from ..services import sanitise

register = template.Library()


@register.filter
def sanitised(html: str) -> str:
    """Show stored rich text, cleaned once more on the way out."""
    return mark_safe(sanitise(html))  # noqa: S308 - nh3 output holds only allow-listed tags


@register.filter
def state_label(value: str) -> str:
    try:
        return Document.State(value).label
    except ValueError:
        return value
