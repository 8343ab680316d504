"""Automated pre-checks: what a first reader would point out before anyone reviews a piece.

They run over the piece as it reads (the title, a blank line, the body's text: proofreading.reading_text), so a
finding's start and end are positions in that text. They never approve or refuse anything: they point, give a
reason and, where there is one, a suggested fix; a reviewer may dismiss a finding with a reason (recorded).

The organisation's sensitive, banned and preferred terms (admin: sensitive terms) and a shipped list of common
misspellings are matched with an Aho-Corasick automaton (pyahocorasick): thousands of terms over a long text in
a few milliseconds. The automaton of the organisation's terms is rebuilt only when they change.
"""

import re
from collections import Counter
from dataclasses import asdict, dataclass
from functools import cache, lru_cache
from pathlib import Path

import ahocorasick
from django.conf import settings
from django.db.models import Count, Max, Q
from django.utils.translation import gettext as _

from .models import Dismissal, Document, SensitiveTerm
from .proofreading import reading_text

CJK = "\u3400-\u9fff\uf900-\ufaff"
MISSPELLINGS = Path(__file__).resolve().parent / "data" / "misspellings.txt"
HALF_TO_FULL = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！", "(": "（", ")": "）", ".": "。"}
PAIRS = {"“": "”", "‘": "’", "《": "》", "（": "）", "【": "】", "「": "」", "〈": "〉", "『": "』"}
# Characters hardly ever doubled in good Chinese: 的的 or 了了 is a slip.
SLIPS = "的了是在和与及把被对从为就也都而并其"
DATE_STYLES = {
    "chinese": re.compile(r"\d{4}年\d{1,2}月\d{1,2}日"),
    "iso": re.compile(r"\d{4}-\d{1,2}-\d{1,2}"),
    "slash": re.compile(r"\d{4}/\d{1,2}/\d{1,2}"),
    "dots": re.compile(r"\d{4}\.\d{1,2}\.\d{1,2}"),
}


@dataclass(frozen=True)
class Finding:
    rule: str
    category: str
    severity: str
    start: int
    end: int
    excerpt: str
    message: str
    suggestion: str = ""
    dismissed: bool = False
    dismissal: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def findings_for(document: Document) -> list[Finding]:
    """Return what the pre-checks find in the piece as it now is, marking those a reviewer dismissed."""
    found = check(title=document.title, body=document.body, summary=document.summary, channels=document.channels)
    if not found:
        return []  # nothing to mark dismissed: no need to read the dismissals
    dismissed = {(d.rule, d.excerpt): d.reason for d in Dismissal.objects.filter(document=document)}
    return [
        Finding(**{**finding.as_dict(), "dismissed": True, "dismissal": dismissed[key]})
        if (key := (finding.rule, finding.excerpt)) in dismissed
        else finding
        for finding in found
    ]


def check(*, title: str, body: str, summary: str = "", channels=()) -> list[Finding]:
    """Return every finding in a piece, in the order they appear in its text."""
    text = reading_text(title, body)
    found = [
        *terms(text),
        *misspellings(text),
        *punctuation(text),
        *repetitions(text),
        *spacing(text),
        *numbers(text),
        *channel_limits(title, summary, text, channels),
        *markup(body, text),
    ]
    return sorted(found, key=lambda finding: (finding.start, finding.end, finding.rule))


def _matches(automaton, text: str):
    """Yield (start, end, value) for every match, the longest at each place (so 再接再励 wins over 再接)."""
    for end_index, value in automaton.iter_long(text):
        yield end_index - len(value[0]) + 1, end_index + 1, value


def terms(text: str) -> list[Finding]:
    automaton = _terms_automaton(*_terms_version())
    if automaton is None:
        return []
    found = []
    for start, end, (term, category, severity, replacement) in _matches(automaton, text):
        if replacement:
            message = _("“%(term)s” is not to be used: write “%(replacement)s”.") % {
                "term": term, "replacement": replacement,
            }  # fmt: skip
            found.append(Finding("banned_term", category, severity, start, end, term, message, replacement))
        else:
            message = _("“%(term)s” is a sensitive term (%(category)s): check that it is right here.") % {
                "term": term, "category": category,
            }  # fmt: skip
            found.append(Finding("sensitive_term", category, severity, start, end, term, message))
    return found


def highlighted(text: str, findings: list[Finding]) -> list[tuple[str, list[Finding]]]:
    """Return the text cut into runs, each with the findings that cover it (none for plain runs), for display."""
    cuts = sorted({0, len(text), *(f.start for f in findings), *(f.end for f in findings)})
    runs = []
    for start, end in zip(cuts, cuts[1:], strict=False):
        if start < end:
            covering = [f for f in findings if f.start <= start and end <= f.end and f.start < f.end]
            runs.append((text[start:end], covering))
    return runs


def _terms_version() -> tuple:
    """Return what identifies the current set of terms (the automaton is rebuilt when it changes): one query."""
    active = Q(is_active=True)
    figures = SensitiveTerm.objects.aggregate(
        count=Count("pk", filter=active), changed=Max("updated_at", filter=active), total=Count("pk")
    )
    return figures["count"], figures["changed"], figures["total"]


@lru_cache(maxsize=4)
def _terms_automaton(count, changed, total):
    if not count:
        return None
    automaton = ahocorasick.Automaton()
    for term in SensitiveTerm.objects.filter(is_active=True):
        automaton.add_word(term.term, (term.term, term.category, term.severity, term.replacement))
    automaton.make_automaton()
    return automaton


@cache
def _misspellings_automaton():
    automaton = ahocorasick.Automaton()
    for line in MISSPELLINGS.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            wrong, right = line.split()
            automaton.add_word(wrong, (wrong, right))
    automaton.make_automaton()
    return automaton


def misspellings(text: str) -> list[Finding]:
    return [
        Finding(
            "misspelling",
            "spelling",
            "medium",
            start,
            end,
            wrong,
            _("“%(wrong)s” is a common misspelling of “%(right)s”.") % {"wrong": wrong, "right": right},
            right,
        )  # fmt: skip
        for start, end, (wrong, right) in _matches(_misspellings_automaton(), text)
    ]


_HALF_WIDTH = re.compile(rf"(?<=[{CJK}])[,;:?!(.]|[,;:?!)](?=[{CJK}])")
_REPEATED_PUNCTUATION = re.compile(r"([，。、；：？！])\1+")


def punctuation(text: str) -> list[Finding]:
    found = [
        Finding(
            "half_width_punctuation",
            "punctuation",
            "low",
            match.start(),
            match.end(),
            match.group(),
            _("Half-width “%(mark)s” in Chinese text: write the full-width “%(full)s”.")
            % {"mark": match.group(), "full": HALF_TO_FULL[match.group()]},
            HALF_TO_FULL[match.group()],
        )  # fmt: skip
        for match in _HALF_WIDTH.finditer(text)
        # A full stop between digits is a decimal point, not a slip.
        if not (match.group() == "." and match.end() < len(text) and text[match.end()].isdigit())
    ]
    found += [
        Finding(
            "repeated_punctuation",
            "punctuation",
            "low",
            match.start(),
            match.end(),
            match.group(),
            _("“%(marks)s”: the mark is repeated.") % {"marks": match.group()},
            match.group(1),
        )  # fmt: skip
        for match in _REPEATED_PUNCTUATION.finditer(text)
    ]
    return found + _unpaired(text)


def _unpaired(text: str) -> list[Finding]:
    """Return the opening marks left unclosed and the closing marks with nothing to close, paragraph by paragraph."""
    closing = {close: open_ for open_, close in PAIRS.items()}
    found, offset = [], 0
    for paragraph in text.split("\n"):
        stack = []
        for index, character in enumerate(paragraph):
            if character in PAIRS:
                stack.append((character, offset + index))
            elif character in closing:
                if stack and stack[-1][0] == closing[character]:
                    stack.pop()
                else:
                    found.append(_unpaired_finding(character, offset + index))
        found += [_unpaired_finding(character, position) for character, position in stack]
        offset += len(paragraph) + 1
    return found


def _unpaired_finding(mark: str, position: int) -> Finding:
    message = _("“%(mark)s” has no partner in this paragraph.") % {"mark": mark}
    return Finding("unpaired_mark", "punctuation", "medium", position, position + 1, mark, message)


_SLIP = re.compile(rf"([{SLIPS}])\1")
_REPEATED_WORD = re.compile(rf"([{CJK}]{{2}})\1")


def repetitions(text: str) -> list[Finding]:
    found = [
        Finding(
            "repeated_character",
            "repetition",
            "medium",
            match.start(),
            match.end(),
            match.group(),
            _("“%(twice)s”: the character is written twice.") % {"twice": match.group()},
            match.group(1),
        )  # fmt: skip
        for match in _SLIP.finditer(text)
    ]
    found += [
        Finding(
            "repeated_word",
            "repetition",
            "low",
            match.start(),
            match.end(),
            match.group(),
            _("“%(twice)s”: the word is written twice.") % {"twice": match.group()},
            match.group(1),
        )  # fmt: skip
        for match in _REPEATED_WORD.finditer(text)
    ]
    return found


_SPACE_IN_CHINESE = re.compile(rf"(?<=[{CJK}，。、；：？！”’》）])[ \u3000\t]+(?=[{CJK}“‘《（])")


def spacing(text: str) -> list[Finding]:
    return [
        Finding(
            "space_in_chinese",
            "spacing",
            "low",
            match.start(),
            match.end(),
            match.group(),
            _("A space inside Chinese text."),
            "",
        )  # fmt: skip
        for match in _SPACE_IN_CHINESE.finditer(text)
    ]


_FULL_WIDTH_DIGITS = re.compile("[０-９]+")


def numbers(text: str) -> list[Finding]:
    found = [
        Finding(
            "full_width_digits",
            "numbers",
            "low",
            match.start(),
            match.end(),
            match.group(),
            _("Full-width digits: write numbers with ordinary digits."),
            match.group().translate(str.maketrans("０１２３４５６７８９", "0123456789")),
        )  # fmt: skip
        for match in _FULL_WIDTH_DIGITS.finditer(text)
    ]
    dates = [(style, match) for style, pattern in DATE_STYLES.items() for match in pattern.finditer(text)]
    styles = Counter(style for style, _match in dates)
    if len(styles) > 1:
        usual = styles.most_common(1)[0][0]
        example = next(match.group() for style, match in dates if style == usual)
        found += [
            Finding(
                "inconsistent_date",
                "numbers",
                "low",
                match.start(),
                match.end(),
                match.group(),
                _("Dates are written in more than one way here; most are written like “%(example)s”.")
                % {"example": example},
            )  # fmt: skip
            for style, match in dates
            if style != usual
        ]
    return found


def channel_limits(title: str, summary: str, text: str, channels) -> list[Finding]:
    """Return what is longer than a chosen channel allows (settings.CHANNEL_LIMITS, per channel and field)."""
    found = []
    sizes = {"title": (len(title), title), "summary": (len(summary), summary), "body": (len(text), text)}
    for channel in channels:
        for field, limit in settings.CHANNEL_LIMITS.get(channel, {}).items():
            length, value = sizes[field]
            if length > limit:
                start, end = (0, len(title)) if field == "title" else (0, 0) if field == "summary" else (0, len(text))
                message = _("The %(field)s has %(length)s characters; %(channel)s allows %(limit)s.") % {
                    "field": _(field), "length": length, "channel": channel, "limit": limit,
                }  # fmt: skip
                found.append(Finding(f"{channel}_{field}_length", "length", "medium", start, end, value[:30], message))
    return found


_IMAGE_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\balt=\"[^\"]+\")[^>]*>", re.IGNORECASE)
_PLAIN_LINK = re.compile(r"<a\b[^>]*\bhref=\"(http://[^\"]+)\"[^>]*>(.*?)</a>", re.IGNORECASE | re.DOTALL)


def markup(body: str, text: str) -> list[Finding]:
    found = [
        Finding(
            "image_without_alt",
            "accessibility",
            "low",
            0,
            0,
            match.group()[:60],
            _("An image without alternative text: say what it shows, for readers who cannot see it."),
        )  # fmt: skip
        for match in _IMAGE_WITHOUT_ALT.finditer(body)
    ]
    for match in _PLAIN_LINK.finditer(body):
        link_text = re.sub(r"<[^>]+>", "", match.group(2))
        start = max(text.find(link_text), 0) if link_text else 0
        found.append(
            Finding(
                "insecure_link",
                "links",
                "medium",
                start,
                start + len(link_text),
                match.group(1)[:200],
                _("This link is not https: link to the https address if there is one."),
                "https://" + match.group(1).removeprefix("http://"),
            )  # fmt: skip
        )
    return found
