from django import template
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

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


@register.simple_tag
def editor_strings() -> dict:
    """Return the editor's (Trix's) own words in the reader's language: its toolbar, link dialog and buttons."""
    return {
        "bold": _("Bold"), "italic": _("Italic"), "strike": _("Strikethrough"), "link": _("Link"),
        "heading1": _("Heading"), "quote": _("Quote"), "code": _("Code"), "bullets": _("Bullets"),
        "numbers": _("Numbers"), "outdent": _("Decrease level"), "indent": _("Increase level"),
        "attachFiles": _("Attach files"), "undo": _("Undo"), "redo": _("Redo"), "remove": _("Remove"),
        "unlink": _("Unlink"), "url": _("URL"), "urlPlaceholder": _("Enter a URL…"),
        "captionPlaceholder": _("Add a caption…"),
    }  # fmt: skip
