"""Proofreading's arithmetic and checks: the text as read, the checklist a signature answers, the errors counted,
and the error rate (差错率: weighted errors per 10,000 characters)."""

import html
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.utils.translation import gettext as _

from .models import ErrorCategory, RecordedError, RouteStage, StageReview

# Where the editor's markup breaks a line: a paragraph, a heading, a list item, a line break.
_BREAKS = re.compile(r"<br\s*/?>|</(?:p|div|h[1-6]|li|blockquote|pre|tr)>", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")
_BLANK_LINES = re.compile(r"\n{3,}")


def plain_text(markup: str) -> str:
    """Return the text a reader sees in stored (sanitised) HTML: tags dropped, lines kept, entities decoded."""
    text = _TAGS.sub("", _BREAKS.sub("\n", markup))
    return _BLANK_LINES.sub("\n\n", html.unescape(text)).strip()


def reading_text(title: str, body: str) -> str:
    """Return a piece as it reads: the title, a blank line, the body's text (what redlines and pre-checks use)."""
    return f"{title}\n\n{plain_text(body)}"


def character_count(title: str, body: str) -> int:
    """Return the characters a proofreader reads, as publishing counts them: every character but white space."""
    return sum(1 for character in f"{title}{plain_text(body)}" if not character.isspace())


def error_rate(weighted_errors: Decimal, characters: int) -> Decimal:
    """Return weighted errors per 10,000 characters, to two decimal places."""
    if not characters:
        return Decimal("0.00")
    return (Decimal(weighted_errors) * 10_000 / characters).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def threshold() -> Decimal:
    """Return the organisation's highest acceptable error rate (settings.ERROR_RATE_THRESHOLD, default 1)."""
    return Decimal(str(settings.ERROR_RATE_THRESHOLD))


@dataclass(frozen=True)
class Answer:
    item: int
    ok: bool
    note: str = ""


class AnswerError(ValueError):
    """A checklist or error count that cannot be accepted, with the reason in words for the signer."""


def checked_answers(stage: RouteStage, answers: list[dict]) -> list[Answer]:
    """Return the answers to every question of the stage's checklist, or raise AnswerError naming what is wrong.

    Each answer is {"item": id, "ok": true|false, "note": "..."}; a "no" needs a note saying what is wrong.
    """
    questions = {item.pk: item for item in stage.checklist.all()}
    given = {}
    for answer in answers:
        if not isinstance(answer, dict) or type(answer.get("item")) is not int or type(answer.get("ok")) is not bool:
            raise AnswerError(_("Each answer names a question (item) and says yes or no (ok: true or false)."))
        if answer["item"] not in questions:
            raise AnswerError(_("Question %(item)s is not on this stage's checklist.") % {"item": answer["item"]})
        note = answer.get("note", "")
        if not isinstance(note, str):
            raise AnswerError(_("A note is text."))
        given[answer["item"]] = Answer(answer["item"], answer["ok"], note.strip())
    for pk, question in questions.items():
        if pk not in given:
            raise AnswerError(_("Answer every question: “%(question)s” has no answer.") % {"question": question.text})
        if not given[pk].ok and not given[pk].note:
            raise AnswerError(_("Say what is wrong with “%(question)s”.") % {"question": question.text})
    return [given[pk] for pk in questions]


@dataclass(frozen=True)
class Count:
    category: ErrorCategory
    count: int
    note: str = ""


def checked_errors(errors: list[dict]) -> list[Count]:
    """Return the errors a proofreader recorded, or raise AnswerError: each {"category": id, "count": n, "note": ""}."""
    categories = {category.pk: category for category in ErrorCategory.objects.filter(is_active=True)}
    counts = []
    for error in errors:
        if not isinstance(error, dict) or type(error.get("category")) is not int or type(error.get("count")) is not int:
            raise AnswerError(_("Each error count names a category and a whole number."))
        if error["category"] not in categories:
            raise AnswerError(_("There is no error category %(category)s.") % {"category": error["category"]})
        if not 0 <= error["count"] <= 10_000:
            raise AnswerError(_("An error count is a whole number from 0 to 10,000."))
        note = error.get("note", "")
        if not isinstance(note, str) or len(note) > 300:
            raise AnswerError(_("A note on errors is text of up to 300 characters."))
        if error["count"]:
            counts.append(Count(categories[error["category"]], error["count"], note.strip()))
    return counts


def review_error_rate(review: StageReview) -> Decimal:
    """Return the error rate a proofreader found at their stage, on the revision they signed."""
    weighted = sum((error.weighted for error in review.errors.all()), Decimal(0))
    return error_rate(weighted, review.revision.characters)


def describe_errors(errors: list[RecordedError]) -> list[dict]:
    """Return recorded errors as the audit log holds them (weights as text: no floats in the log)."""
    return [{"category": e.category.name, "weight": str(e.weight), "count": e.count, "note": e.note} for e in errors]
