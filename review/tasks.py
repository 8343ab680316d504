"""Background work, run by `manage.py db_worker` (immediately in tests)."""

from django.tasks import task

from .exports import run_job
from .models import ExportJob


@task()
def export_audit_log(job_id: int) -> None:
    """Write an export job's XLSX or PDF file, reporting progress on the job as it goes."""
    run_job(ExportJob.objects.get(pk=job_id))
