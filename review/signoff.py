"""The verification code printed on a sign-off sheet (审签单), and checking a sheet against the record.

A code is `<token>-<digest>`: the piece's sheet token (80 random bits, so codes cannot be guessed from piece
numbers) and an HMAC, under a key derived from SECRET_KEY, of the signatures the sheet showed (each decided
stage review: id, round, meaning, decision, printed name, time and the content hash signed). Anyone holding a
sheet can have the public page recompute it. Signatures are only ever added, so a sheet printed earlier matches
a prefix of today's signatures in the order they were made: that is how a genuine but outdated sheet is told
apart. Any other code, whether or not it names a piece, gets the same answer: no sheet has it.
"""

import datetime
import json
import re
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

from .models import Document, StageReview

KEY_SALT = "imprimatur.review.signoff-sheet"
DIGEST_LENGTH = 10
CODE_PATTERN = re.compile(rf"(?P<token>[0-9a-f]{{20}})-(?P<digest>[0-9a-f]{{{DIGEST_LENGTH}}})")
UNSIGNED = (StageReview.Decision.PENDING, StageReview.Decision.CANCELLED)


def signatures(reviews) -> list[StageReview]:
    """Return the decided reviews among `reviews`, in the order they were signed."""
    decided = [review for review in reviews if review.decision not in UNSIGNED]
    return sorted(decided, key=lambda review: (review.decided_at, review.pk))


def signatures_of(document: Document) -> list[StageReview]:
    """Return a piece's signatures, every round, in the order they were signed."""
    return signatures(document.stage_reviews.exclude(decision__in=UNSIGNED))


def verification_code(document: Document, signed: list[StageReview], *, secret: str | None = None) -> str:
    """Return the code that vouches for a sheet showing `signed` (the piece's signatures, in order)."""
    return f"{document.sheet_token}-{_digest(document, signed, secret)}"


def _digest(document: Document, signed: list[StageReview], secret: str | None) -> str:
    facts = [
        [
            review.pk,
            review.round,
            review.meaning,
            review.decision,
            review.signer_name,
            review.decided_at.astimezone(datetime.UTC).isoformat(),
            review.revision_hash,
            # A deputy's signature vouches for whom it was given; signatures without one keep their old codes.
            *([review.on_behalf_of_name] if review.on_behalf_of_name else []),
        ]
        for review in signed
    ]
    message = json.dumps([document.pk, facts], ensure_ascii=False, separators=(",", ":"))
    return salted_hmac(KEY_SALT, message, secret=secret, algorithm="sha256").hexdigest()[:DIGEST_LENGTH]


class Match(StrEnum):
    CURRENT = "current"  # the sheet shows the signatures as they are now
    OUTDATED = "outdated"  # a genuine sheet, printed before the latest signatures


@dataclass(frozen=True)
class Check:
    document: Document
    match: Match
    signed: list[StageReview]
    signed_since: int = 0  # signatures made after an outdated sheet was printed


def normalise_code(code: str) -> str | None:
    """Return a code as printed (any case, spaces ignored) in its one written form, or None if it cannot be one."""
    code = "".join(code.split()).lower()
    return code if CODE_PATTERN.fullmatch(code) else None


def check_code(code: str) -> Check | None:
    """Return how the sheet with `code` compares with the record now; None when no sheet has that code."""
    found = CODE_PATTERN.fullmatch(normalise_code(code) or "")
    if found is None:
        return None
    document = Document.objects.with_related().filter(sheet_token=found["token"]).first()
    if document is None:
        return None
    signed = signatures_of(document)
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    # Newest first: the sheet most likely printed is the one with every signature on it.
    for count in range(len(signed), -1, -1):
        for secret in secrets:
            if constant_time_compare(_digest(document, signed[:count], secret), found["digest"]):
                match = Match.CURRENT if count == len(signed) else Match.OUTDATED
                return Check(document, match, signed, signed_since=len(signed) - count)
    return None
