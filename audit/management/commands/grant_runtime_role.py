"""PostgreSQL: give the role the application runs as exactly the rights it needs, and no right over history."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from psycopg import sql

from audit.guards import APPEND_ONLY_TABLES


class Command(BaseCommand):
    help = (
        "Grant ROLE (which owns nothing) what the application needs on this database: read and write every table "
        "except the audit log's, which it may only read and append to. Run it as the owner, after every migrate."
    )

    def add_arguments(self, parser):
        parser.add_argument("role", help="The PostgreSQL role the application connects as.")

    def handle(self, *args, role, **options):
        if connection.vendor != "postgresql":
            raise CommandError("Only PostgreSQL has roles; SQLite relies on the triggers alone.")
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            if cursor.fetchone() is None:
                raise CommandError(f"There is no role {role!r}; create it first (CREATE ROLE ... LOGIN PASSWORD ...).")
            who = sql.Identifier(role)
            statements = [
                sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(who),
                sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(who),
                sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(who),
                sql.SQL("REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM {}").format(who),
            ]
            statements += [
                sql.SQL("REVOKE UPDATE, DELETE ON {} FROM {}").format(sql.Identifier(table), who)
                for table in APPEND_ONLY_TABLES
            ]
            for statement in statements:
                cursor.execute(statement)
        self.stdout.write(
            self.style.SUCCESS(f"{role} may read and write the application's tables and only append to the audit log.")
        )
