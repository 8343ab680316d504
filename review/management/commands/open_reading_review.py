"""Open the previous quarter's post-publication review (阅评) if it is not open yet (the worker does this hourly)."""

from django.core.management.base import BaseCommand

from review.reading import open_scheduled_review


class Command(BaseCommand):
    help = "Open the previous quarter's post-publication review, read by the leaders in charge of publicity. For cron."

    def handle(self, *args, **options):
        review = open_scheduled_review()
        self.stdout.write(f"Opened: {review.title}." if review else "Nothing to open: it is open already.")
