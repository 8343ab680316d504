"""Say whether the database guards of the audit log are in place, or put them back."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from audit import guards


class Command(BaseCommand):
    help = "Check the triggers that make the audit tables append-only; --install puts them (back) in place."
    # The system check fails while a guard is missing: this command must run regardless.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--install", action="store_true", help="Install or reinstall the guards.")

    def handle(self, *args, install=False, **options):
        if install:
            guards.install(connection)
            self.stdout.write("Guards installed.")
        problems = guards.missing_guards(connection)
        if problems:
            raise CommandError("Audit guards not in place:\n" + "\n".join(f"- {problem}" for problem in problems))
        self.stdout.write(self.style.SUCCESS("Audit guards in place."))
