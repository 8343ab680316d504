"""The database itself refuses to change history.

On both databases, triggers on the two append-only tables (events and checkpoints) refuse UPDATE and DELETE,
and an INSERT whose key is not the next one, so SQLite's INSERT OR REPLACE cannot overwrite or remove a row
without firing a trigger; on PostgreSQL they refuse TRUNCATE too. The migrations install them; a table rebuild
(SQLite recreates a table to alter it) would drop them silently, so `missing_guards()` compares what the
database holds with what should be there, for the system check (`manage.py check`) and `verify_audit`.

On PostgreSQL the application can also run as a role that owns nothing and may not UPDATE, DELETE or TRUNCATE
these tables, nor drop or disable their triggers (see `manage.py grant_runtime_role`).
"""

import re

from django.db import connection as default_connection

# Table → the key that must grow by one with every row.
APPEND_ONLY_TABLES = {"audit_event": "sequence", "audit_checkpoint": "number"}
REFUSAL = "audit records are append-only"

_SQLITE_TRIGGERS = {
    "{table}_no_update": "CREATE TRIGGER {name} BEFORE UPDATE ON {table} "
    "BEGIN SELECT RAISE(ABORT, '" + REFUSAL + "'); END",
    "{table}_no_delete": "CREATE TRIGGER {name} BEFORE DELETE ON {table} "
    "BEGIN SELECT RAISE(ABORT, '" + REFUSAL + "'); END",
    "{table}_append_next": "CREATE TRIGGER {name} BEFORE INSERT ON {table} "
    "WHEN NEW.{key} IS NOT (SELECT COALESCE(MAX({key}), 0) + 1 FROM {table}) "
    "BEGIN SELECT RAISE(ABORT, 'audit records are appended in order'); END",
}

_PG_FUNCTIONS = {
    "imprimatur_append_only": ("BEGIN RAISE EXCEPTION '" + REFUSAL + "' USING ERRCODE = 'insufficient_privilege'; END"),
    "imprimatur_append_next": (
        " DECLARE expected bigint; BEGIN "
        "EXECUTE format('SELECT COALESCE(MAX(%I), 0) + 1 FROM %I', TG_ARGV[0], TG_TABLE_NAME) INTO expected; "
        "IF (to_jsonb(NEW) ->> TG_ARGV[0])::bigint IS DISTINCT FROM expected THEN "
        "RAISE EXCEPTION 'audit records are appended in order' USING ERRCODE = 'insufficient_privilege'; "
        "END IF; RETURN NEW; END "
    ),
}
_PG_TRIGGERS = {
    # Row triggers do not fire on TRUNCATE (what `manage.py flush` runs): a statement trigger refuses it.
    "{table}_append_only": "BEFORE DELETE OR UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION imprimatur_append_only()",
    "{table}_no_truncate": "BEFORE TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION imprimatur_append_only()",
    "{table}_append_next": "BEFORE INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION imprimatur_append_next('{key}')",
}


def _expected(table: str, key: str, templates: dict) -> dict[str, str]:
    expected = {}
    for name, sql in templates.items():
        name = name.format(table=table)
        expected[name] = sql.format(name=name, table=table, key=key)
    return expected


def install(connection=default_connection) -> None:
    """Install (or reinstall) the guards; what the migrations run."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for function, body in _PG_FUNCTIONS.items():
                cursor.execute(
                    f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $${body}$$"
                )
        for table, key in APPEND_ONLY_TABLES.items():
            if connection.vendor == "postgresql":
                for name, sql in _expected(table, key, _PG_TRIGGERS).items():
                    cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
                    cursor.execute(f"CREATE TRIGGER {name} {sql}")
            else:
                for name, sql in _expected(table, key, _SQLITE_TRIGGERS).items():
                    cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
                    cursor.execute(sql)


def remove(connection=default_connection) -> None:
    """Drop the triggers: only for migrating backwards, and for emptying a test database between tests."""
    with connection.cursor() as cursor:
        for table, key in APPEND_ONLY_TABLES.items():
            templates = _PG_TRIGGERS if connection.vendor == "postgresql" else _SQLITE_TRIGGERS
            for name in _expected(table, key, templates):
                if connection.vendor == "postgresql":
                    cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
                else:
                    cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


def _normalise(sql: str) -> str:
    return " ".join(sql.split()).lower()


def missing_guards(connection=default_connection) -> list[str]:
    """Return what is missing or altered among the guards; empty when every one is in place as installed.

    Nothing is reported before the audit tables exist (a database not yet migrated).
    """
    existing = set(connection.introspection.table_names())
    tables = {table: key for table, key in APPEND_ONLY_TABLES.items() if table in existing}
    if not tables:
        return []
    if connection.vendor == "postgresql":
        return _missing_pg(connection, tables)
    return _missing_sqlite(connection, tables)


def _missing_sqlite(connection, tables) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        found = {name: _normalise(sql) for name, sql in cursor.fetchall()}
    problems = []
    for table, key in tables.items():
        for name, sql in _expected(table, key, _SQLITE_TRIGGERS).items():
            if name not in found:
                problems.append(f"trigger {name} is missing")
            elif found[name] != _normalise(sql):
                problems.append(f"trigger {name} has been altered")
    return problems


def _missing_pg(connection, tables) -> list[str]:
    problems = []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT proname, prosrc FROM pg_proc "
            "WHERE proname = ANY(%s) AND pronamespace = current_schema()::regnamespace",
            [list(_PG_FUNCTIONS)],
        )
        found_functions = {name: _normalise(source) for name, source in cursor.fetchall()}
        cursor.execute(
            "SELECT tgname, tgenabled, pg_get_triggerdef(oid) FROM pg_trigger "
            "WHERE NOT tgisinternal AND tgrelid::regclass::text = ANY(%s)",
            [list(tables)],
        )
        # PostgreSQL names the table with its schema ("ON public.audit_event"); the definitions here do not.
        found_triggers = {
            name: (enabled, re.sub(r" on [^ ]+\.", " on ", _normalise(definition)))
            for name, enabled, definition in cursor.fetchall()
        }
    for function, body in _PG_FUNCTIONS.items():
        if function not in found_functions:
            problems.append(f"function {function} is missing")
        elif found_functions[function] != _normalise(body):
            problems.append(f"function {function} has been altered")
    for table, key in tables.items():
        for name, sql in _expected(table, key, _PG_TRIGGERS).items():
            if name not in found_triggers:
                problems.append(f"trigger {name} is missing")
                continue
            enabled, definition = found_triggers[name]
            if enabled == "D":
                problems.append(f"trigger {name} is disabled")
            elif definition != _normalise(f"CREATE TRIGGER {name} {sql}"):
                problems.append(f"trigger {name} has been altered")
    return problems
