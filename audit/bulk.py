"""Many audit events at once, for seeding benchmarks: chained and signed exactly as AuditEvent.objects.record()
chains and signs one, after the chain's head, inserted in batches (COPY on PostgreSQL).

Not for the application's own actions: those record one event each, in the transaction of their change.
"""

from collections.abc import Iterable

from django.db import connection, transaction

from . import chain
from .models import AuditEvent, append_lock

BATCH = 5000
COLUMNS = (*chain.HASHED_FIELDS, "prev_hash", "hash", "signature")
# What an event need not name (everything else of HASHED_FIELDS but the sequence, which is given here).
DEFAULTS = {name: "" for name in chain.HASHED_FIELDS} | {"actor_id": None, "object_id": None, "data": {}}


def append(events: Iterable[dict]) -> int:
    """Append `events` (dicts of HASHED_FIELDS but "sequence"; "created_at" required, in order) to the chain;
    return how many. Values are taken as the database will give them back: clean them first."""
    adapt = connection.ops.adapt_datetimefield_value
    data_index = chain.HASHED_FIELDS.index("data")
    count = 0
    with transaction.atomic():
        append_lock()
        head = AuditEvent.objects.head()
        sequence, prev_hash, batch = head.sequence, head.hash, []
        for event in events:
            sequence += 1
            values = {**DEFAULTS, **event, "sequence": sequence}
            event_hash = chain.event_hash(prev_hash, chain.canonical(values))
            row = [values[name] for name in chain.HASHED_FIELDS]
            row[1] = adapt(values["created_at"])
            row[data_index] = chain.canonical_json(values["data"])
            batch.append((*row, prev_hash, event_hash, chain.sign(event_hash)))
            prev_hash = event_hash
            count += 1
            if len(batch) == BATCH:
                _insert(batch)
                batch = []
        if batch:
            _insert(batch)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE audit_event")
    return count


def _insert(batch: list[tuple]) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY: one round trip per batch rather than one per row.
            with cursor.cursor.copy(f"COPY audit_event ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in batch:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(COLUMNS))
            cursor.executemany(f"INSERT INTO audit_event ({', '.join(COLUMNS)}) VALUES ({placeholders})", batch)
