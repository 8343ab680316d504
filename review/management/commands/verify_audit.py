"""Recompute the audit chain; exit 0 when intact, 1 naming the first bad sequence number."""

import time

from django.core.management.base import BaseCommand, CommandError

from review.audit import verify_chain
from review.models import AuditEvent


class Command(BaseCommand):
    help = "Verify the audit log's hash chain and its signed daily checkpoints."

    def add_arguments(self, parser):
        parser.add_argument(
            "--checkpoint", action="store_true", help="After a successful check, sign today's head as a checkpoint."
        )

    def handle(self, *args, checkpoint=False, **options):
        started = time.perf_counter()
        result = verify_chain()
        elapsed = time.perf_counter() - started
        if not result.ok:
            raise CommandError(
                f"Audit chain broken at sequence {result.first_bad_sequence}: {result.problem} "
                f"({result.events} events verified before it)."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit chain intact: {result.events} events, head {result.head_hash} ({elapsed:.2f} s)."
            )
        )
        if checkpoint and (signed := AuditEvent.objects.checkpoint_now()):
            self.stdout.write(f"Signed checkpoint for {signed.day} at sequence {signed.sequence}.")
