"""Checking one range of the chain, with nothing but a DB-API cursor: no Django, so that worker processes
started afresh ("spawn") can import and run it without setting Django up."""

import hashlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

import psycopg


@dataclass
class RangeResult:
    count: int = 0
    first_prev_hash: str | None = None
    last_sequence: int | None = None
    last_hash: str | None = None
    bad_sequence: int | None = None
    problem: str = ""


def hmac_sha256(key: bytes) -> Callable[[bytes], str]:
    """Return a function that gives the hex HMAC-SHA256 of a message under `key`, as hmac.digest does.

    HMAC (RFC 2104) hashes the key twice, padded, ahead of every message: here those two states are computed once
    and copied for each message, about three times quicker than hmac.digest for a chain's 64-character hashes.
    """
    if len(key) > 64:  # SHA-256's block size
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in key))
    outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in key))

    def digest(message: bytes) -> str:
        inner_hash = inner.copy()
        inner_hash.update(message)
        outer_hash = outer.copy()
        outer_hash.update(inner_hash.digest())
        return outer_hash.hexdigest()

    return digest


def check_range(cursor, sql: str, first: int, last: int, key: bytes, *, hashed: bool = False) -> RangeResult:
    """Check the events `sql` selects (first..last): contiguous, each matching its hash and its signature.

    `sql` yields (sequence, prev_hash, hash, signature, canonical form) in sequence order; with `hashed`, the
    database has already hashed the canonical form (PostgreSQL can), and the last column is that hash.
    """
    result = RangeResult()
    cursor.execute(sql)
    expected, prev_hash = first, None
    # Plain comparisons: the verifier answers no one, so there is no timing to hide.
    sha256, signed = hashlib.sha256, hmac_sha256(key)
    for sequence, stored_prev, stored_hash, signature, canonical in cursor:
        if sequence != expected:
            result.bad_sequence, result.problem = expected, f"event {expected} is missing"
            return result
        if prev_hash is None:
            result.first_prev_hash = stored_prev
        elif stored_prev != prev_hash:
            result.bad_sequence, result.problem = sequence, "does not follow the event before it"
            return result
        computed = canonical if hashed else sha256(f"{stored_prev}\n{canonical}".encode()).hexdigest()
        if computed != stored_hash:
            result.bad_sequence, result.problem = sequence, "its content does not match its hash"
            return result
        if signed(stored_hash.encode()) != signature:
            result.bad_sequence, result.problem = sequence, "its signature is not genuine (made without the key)"
            return result
        prev_hash = result.last_hash = stored_hash
        result.last_sequence = sequence
        result.count += 1
        expected += 1
    if expected <= last:
        result.bad_sequence, result.problem = expected, f"event {expected} is missing"
    return result


def connect(settings_dict: dict, vendor: str):
    """Open a plain driver connection to the database Django's `settings_dict` describes."""
    if vendor == "postgresql":
        return psycopg.connect(
            dbname=settings_dict["NAME"],
            user=settings_dict.get("USER") or None,
            password=settings_dict.get("PASSWORD") or None,
            host=settings_dict.get("HOST") or None,
            port=settings_dict.get("PORT") or None,
        )
    return sqlite3.connect(settings_dict["NAME"])


def check_range_apart(job: tuple) -> RangeResult:
    """Check one range over a connection of this process's own (what each worker process runs)."""
    settings_dict, vendor, sql, first, last, key = job
    raw = connect(settings_dict, vendor)
    try:
        return check_range(raw.cursor(), sql, first, last, key, hashed=vendor == "postgresql")
    finally:
        raw.close()
