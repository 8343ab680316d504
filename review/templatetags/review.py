from django import template
from django.utils import timezone
from django.utils.safestring import mark_safe

from ..services import sanitise

register = template.Library()


@register.filter
def sanitised(html: str) -> str:
    """Show stored rich text, cleaned once more on the way out."""
    return mark_safe(sanitise(html))  # noqa: S308 - nh3 output holds only allow-listed tags


@register.filter
def signed_time(value) -> str:
    """Return a moment as a signature shows it: local date and time, the zone and its UTC offset."""
    if not value:
        return ""
    local = timezone.localtime(value)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} ({timezone.get_current_timezone_name()}, UTC{offset[:3]}:{offset[3:]})"
