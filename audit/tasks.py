"""Background work on the audit log, run by the worker (immediately in tests)."""

from django.conf import settings
from django.tasks import task
from django.utils import translation

from .exports import run_job
from .forms import events_matching
from .models import Checkpoint, ExportJob, Verification
from .verify import run_verification, verify_new_events


@task()
def export_audit_log(job_id: int) -> None:
    """Write an export job's XLSX or PDF file, reporting progress on the job as it goes."""
    job = ExportJob.objects.get(pk=job_id)
    try:
        events = events_matching(job.filters)
    except ValueError as error:
        job.mark_failed(str(error))
        return
    with translation.override(job.language or settings.LANGUAGE_CODE):  # the words of whoever asked for it
        run_job(job, events)


@task()
def verify_audit_chain(verification_id: int) -> None:
    """Verify the whole chain, reporting progress on the verification's row."""
    run_verification(Verification.objects.get(pk=verification_id))


def keep_chain() -> None:
    """Sign a checkpoint over new events and verify them: what the worker does every minute."""
    Checkpoint.sign_head()
    verify_new_events()
