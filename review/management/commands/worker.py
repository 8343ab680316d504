"""The background worker: django-tasks-db's `db_worker`, plus the jobs that run on a clock.

Every minute it signs a checkpoint over the audit events that arrived since the last one and verifies
them (audit.tasks.keep_chain); every five minutes it reminds reviewers of stages due soon and escalates overdue
ones (review.deadlines.send_reminders); every hour it opens the previous quarter's post-publication review if
it is not open yet (review.reading.open_scheduled_review). Run one worker per deployment, beside the web
servers; `make run` starts it.
"""

import logging
import os
import threading
import time

from django.db import close_old_connections
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands.db_worker import Command as DatabaseWorkerCommand

from audit.tasks import keep_chain
from review.deadlines import send_reminders
from review.reading import open_scheduled_review

logger = logging.getLogger(__name__)

# (job, seconds between runs)
PERIODIC_JOBS = [(keep_chain, 60), (send_reminders, 300), (open_scheduled_review, 3600)]


def run_periodic_jobs(stop: threading.Event, *, tick: float = 5.0) -> None:
    """Run each periodic job when it is due, until `stop` is set; a failing job is logged and tried again later."""
    next_run = dict.fromkeys((job for job, _interval in PERIODIC_JOBS), 0.0)
    while True:
        for job, interval in PERIODIC_JOBS:
            if time.monotonic() >= next_run[job]:
                try:
                    job()
                except Exception:
                    logger.exception("Periodic job %s failed", job.__name__)
                finally:
                    close_old_connections()
                next_run[job] = time.monotonic() + interval
        if stop.wait(tick):
            return


class Command(DatabaseWorkerCommand):
    help = (
        "Run background tasks (django-tasks-db); every minute sign and verify the audit log's new events, every "
        "five minutes send deadline reminders and escalations."
    )

    def handle(self, *args, **options):
        # With --reload (the default under DEBUG) this process only watches the code and runs the worker in a
        # child process; the periodic jobs belong to the child.
        if not options["reload"] or os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
            threading.Thread(target=run_periodic_jobs, args=(threading.Event(),), daemon=True, name="periodic").start()
        super().handle(*args, **options)
