from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def zoned(value) -> str:
    """Return a moment as PDFs print it, short enough for a table cell: '2026-11-29 14:03 CST (UTC+08:00)'."""
    if not value:
        return ""
    local = timezone.localtime(value)
    return f"{local:%Y-%m-%d %H:%M} {local:%Z} (UTC{local:%:z})"
