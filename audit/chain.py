"""The arithmetic of the audit chain: what exactly is hashed, and how.

Every event is stored as text, integers and one timestamp, and its hash is computed from the values as the
database gives them back, never from what the caller happened to pass:

- text loses NUL characters and unpaired surrogates (PostgreSQL refuses both) and is cut to its column's length;
- an address is parsed and written in one form (an IPv4-mapped IPv6 address as its IPv4 address);
- the time is UTC to the microsecond, which both databases keep;
- `data` is JSON in one canonical text (keys sorted, no spaces, no floats), stored as that text.

The canonical form of an event is its fields in HASHED_FIELDS order, each written as `<length>:<text>` and
joined by `|` (an empty text for NULL). No escaping is needed, and each database can build the same string in SQL,
which is how verification stays fast. Then

    hash      = SHA-256( prev_hash + "\\n" + canonical )       (hex; the first event's prev_hash is 64 zeros)
    signature = HMAC-SHA256( AUDIT_KEY, hash )                 (hex)

Anyone can recompute the hashes from an export; only the holder of the key, which is not in the database,
can make a signature, so an event forged by someone with write access to the database shows.
"""

import datetime
import hashlib
import hmac
import ipaddress
import json

from django.conf import settings

GENESIS_HASH = "0" * 64

HASHED_FIELDS = (
    "sequence",
    "created_at",
    "actor_id",
    "actor_name",
    "actor_role",
    "action",
    "object_type",
    "object_id",
    "object_repr",
    "scope",
    "content_hash",
    "from_state",
    "to_state",
    "comment",
    "ip_address",
    "user_agent",
    "request_id",
    "data",
)
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def clean_text(value, max_length: int | None = None) -> str:
    """Return `value` as text that both databases store unchanged, cut to `max_length` characters."""
    text = str(value).replace("\x00", "\ufffd")
    text = text.encode("utf-8", "replace").decode("utf-8")  # unpaired surrogates become "?"
    return text[:max_length] if max_length else text


def clean_ip(value) -> str:
    """Return an address in one written form, or "" when it is missing or not an address."""
    try:
        address = ipaddress.ip_address(str(value or "").split("%", 1)[0])
    except ValueError:
        return ""
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.compressed


def canonical_json(value) -> str:
    """Return `value` as canonical JSON text; refuse floats and anything JSON cannot hold exactly."""
    return json.dumps(_json_value(value), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _json_value(value):
    if value is None or value is True or value is False or type(value) is int:
        return value
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise TypeError("audit data keys must be strings")
        return {clean_text(key): _json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    raise TypeError(f"audit data cannot hold {type(value).__name__} values exactly; pass a string")


def time_text(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).strftime(TIME_FORMAT)


def canonical(values: dict) -> str:
    """Return the canonical form of an event from its HASHED_FIELDS values (as stored)."""
    texts = []
    for name in HASHED_FIELDS:
        value = values[name]
        if name == "created_at":
            value = time_text(value)
        elif name == "data" and not isinstance(value, str):
            value = canonical_json(value)
        text = "" if value is None else str(value)
        texts.append(f"{len(text)}:{text}")
    return "|".join(texts)


def event_hash(prev_hash: str, canonical_form: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{canonical_form}".encode()).hexdigest()


def _key() -> bytes:
    return settings.AUDIT_KEY.encode()


def sign(text: str) -> str:
    """Return the HMAC-SHA256 of `text` under the audit key (kept outside the database)."""
    return hmac.digest(_key(), text.encode(), "sha256").hex()


def checkpoint_message(number: int, sequence: int, head_hash: str, signed_at: datetime.datetime) -> str:
    return f"checkpoint|{number}|{sequence}|{head_hash}|{time_text(signed_at)}"


def genuine(signature: str, text: str) -> bool:
    return hmac.compare_digest(signature, sign(text))


def time_text_sql(vendor: str, column: str) -> str:
    """Return an SQL expression that writes the stored time `column` as time_text writes it."""
    if vendor == "postgresql":
        return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
    # SQLite keeps a time as UTC text, "YYYY-MM-DD HH:MM:SS[.ffffff]" (no fraction when it is zero).
    return f"replace({column}, ' ', 'T') || (CASE WHEN length({column}) = 19 THEN '.000000Z' ELSE 'Z' END)"


def canonical_sql(vendor: str) -> str:
    """Return an SQL expression that builds an event's canonical form from its stored columns.

    One call to the database's own formatting function (printf, format) per row: several times quicker than
    concatenating the pieces one by one. Run statements holding it without parameters: it has % signs of its own.
    """
    if vendor == "postgresql":
        as_text = {
            "sequence": "sequence::text",
            "created_at": time_text_sql(vendor, "created_at"),
            "actor_id": "COALESCE(actor_id::text, '')",
            "object_id": "COALESCE(object_id::text, '')",
        }
        function, placeholder = "format", "%s:%s"
    else:
        as_text = {
            "sequence": "CAST(sequence AS TEXT)",
            "created_at": time_text_sql(vendor, "created_at"),
            "actor_id": "COALESCE(CAST(actor_id AS TEXT), '')",
            "object_id": "COALESCE(CAST(object_id AS TEXT), '')",
        }
        function, placeholder = "printf", "%d:%s"
    expressions = [as_text.get(name, name) for name in HASHED_FIELDS]
    pattern = "|".join([placeholder] * len(expressions))
    arguments = ", ".join(f"length({expression}), {expression}" for expression in expressions)
    return f"{function}('{pattern}', {arguments})"
