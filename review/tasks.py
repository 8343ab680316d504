"""Background work, run by `manage.py db_worker` (immediately in tests)."""

from django.tasks import task

from .exports import run_job
from .models import ExportJob
from .webhooks import deliver


@task()
def export_audit_log(job_id: int) -> None:
    """Write an export job's XLSX or PDF file, reporting progress on the job as it goes."""
    run_job(ExportJob.objects.get(pk=job_id))


@task()
def deliver_webhook(webhook_id: int, payload: dict, attempt: int = 1) -> None:
    """POST one event to one webhook; on failure the next attempt is queued with a delay."""
    deliver(webhook_id=webhook_id, payload=payload, attempt=attempt)
