"""Remind reviewers of stages due soon and escalate overdue ones (the worker does this every five minutes)."""

from django.core.management.base import BaseCommand

from review.deadlines import send_reminders


class Command(BaseCommand):
    help = "Remind the reviewers of stages due soon, and escalate the stages past due (each once). For cron."

    def handle(self, *args, **options):
        reminded, escalated = send_reminders()
        self.stdout.write(f"Reminded {reminded}, escalated {escalated}.")
