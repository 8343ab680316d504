"""Redlines: what changed between two revisions, character by character (Chinese has no spaces between words).

diff-match-patch finds the differences; a semantic clean-up then joins the scattered one-character matches a
character diff leaves, so the result reads as edits rather than noise. Long unchanged runs can be folded for
display, keeping a little context on each side.
"""

from dataclasses import dataclass

from diff_match_patch import diff_match_patch

from .models import Revision
from .proofreading import reading_text

OPS = {-1: "delete", 0: "equal", 1: "insert"}
# Unchanged text longer than this is folded on the page, keeping CONTEXT characters on each side.
FOLD_OVER = 160
CONTEXT = 60


def revision_text(revision: Revision) -> str:
    """Return a revision as a reader sees it: the title, a blank line, the body's text."""
    return reading_text(revision.title, revision.body)


def diff(old: str, new: str) -> list[dict]:
    """Return the operations that turn `old` into `new`: [{"op": "equal"|"insert"|"delete", "text": ...}]."""
    differ = diff_match_patch()
    differ.Diff_Timeout = 2.0  # seconds; a long text with many edits gives a coarser, still correct, diff
    operations = differ.diff_main(old, new)
    differ.diff_cleanupSemantic(operations)
    return [{"op": OPS[op], "text": text} for op, text in operations]


def diff_revisions(old: Revision, new: Revision) -> list[dict]:
    return diff(revision_text(old), revision_text(new))


@dataclass(frozen=True)
class Piece:
    op: str
    text: str
    folded: int = 0  # characters left out of an unchanged run


def folded(operations: list[dict], *, over: int = FOLD_OVER, context: int = CONTEXT) -> list[Piece]:
    """Return the operations for display: unchanged runs longer than `over` keep `context` characters at each end
    (only the end that touches a change, at the start and the end of the text)."""
    pieces = []
    last = len(operations) - 1
    for index, operation in enumerate(operations):
        text = operation["text"]
        if operation["op"] != "equal" or len(text) <= over:
            pieces.append(Piece(operation["op"], text))
            continue
        head = text[:context] if index > 0 else ""
        tail = text[-context:] if index < last else ""
        if head:
            pieces.append(Piece("equal", head))
        pieces.append(Piece("fold", "", folded=len(text) - len(head) - len(tail)))
        if tail:
            pieces.append(Piece("equal", tail))
    return pieces
