"""Write the audit log (optionally one period of it) to a file, with its manifest beside it."""

from django.core.management.base import BaseCommand, CommandError

from audit.exports import export_to_path
from audit.forms import PeriodForm
from audit.models import AuditEvent, ExportJob


class Command(BaseCommand):
    help = "Export the audit log as CSV, XLSX, JSON Lines or PDF, and write PATH.manifest.json beside it."

    def add_arguments(self, parser):
        parser.add_argument("--format", required=True, choices=ExportJob.Format.values)
        parser.add_argument("--output", required=True, metavar="PATH", help="The file to write.")
        parser.add_argument("--since", metavar="YYYY-MM-DD", help="First day (local time zone) to include.")
        parser.add_argument("--until", metavar="YYYY-MM-DD", help="Last day (local time zone) to include.")

    def handle(self, *args, format, output, since=None, until=None, **options):
        form = PeriodForm(data={"since": since or "", "until": until or ""})
        if not form.is_valid():
            raise CommandError(form.errors.as_text())
        events = AuditEvent.objects.matching(**form.filters())
        try:
            manifest = export_to_path(format=format, events=events, described=form.describe(), path=output)
        except OSError as error:
            raise CommandError(f"Cannot write {output}: {error}") from error
        if manifest["row_count"]:
            span = f"#{manifest['first_sequence']}–#{manifest['last_sequence']}"
        else:
            span = "no events"
        self.stdout.write(
            self.style.SUCCESS(f"Wrote {manifest['row_count']} events ({span}) to {output}.")
            + f"\nSHA-256 {manifest['sha256']}"
            + f"\nChain head #{manifest['head_sequence']} {manifest['head_hash']}"
            + f"\nManifest {output}.manifest.json"
        )
