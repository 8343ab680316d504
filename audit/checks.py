from django.core import checks
from django.db import DatabaseError, connection

from .guards import missing_guards


def check_guards(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Fail when the database no longer refuses changes to the audit log (a trigger dropped or altered)."""
    try:
        problems = missing_guards(connection)
    except DatabaseError:
        return []  # no database to look at (yet); migrate will create the tables and their guards
    return [
        checks.Error(
            f"The audit log's database guard is not in place: {problem}.",
            hint="Reinstall the guards with `manage.py audit_guards --install` (then find out who removed them).",
            id="audit.E001",
        )
        for problem in problems
    ]
