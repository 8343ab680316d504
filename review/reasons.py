"""Reasons given for a refusal, kept translatable until they are read.

A refusal is told to the person refused and written to the audit log, where an auditor may read it in
another language. So a reason is a lazy translation with its values filled in when it is read: in the
language of whoever reads it, not of whoever was refused.
"""

from django.conf import settings
from django.utils import translation
from django.utils.functional import Promise, lazy


def _fill(message, params: dict) -> str:
    return str(message) % params if params else str(message)


_lazy_fill = lazy(_fill, str)


def reason(message, **params) -> str:
    """Return `message` (a gettext_lazy string) with `params` filled in, translated each time it is read."""
    return _lazy_fill(message, params)


def in_each_language(message) -> dict[str, str]:
    """Return `message` as each of the site's languages reads it ({} when it is plain text, fixed already)."""
    if not isinstance(message, Promise):
        return {}
    texts = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            texts[code] = str(message)
    return texts
