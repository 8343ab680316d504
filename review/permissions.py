"""Object permissions on pieces: who holds what, and the grants the workflow moves along."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from guardian.shortcuts import assign_perm, get_objects_for_user, remove_perm

from accounts.models import Membership
from accounts.services import role_group

from .models import Document, ExportJob, Stage


def holds(user, perm: str, document: Document) -> bool:
    """Return whether `user` holds `perm` on the piece through their own roles.

    Superusers get no bypass here: four eyes has no administrator override.
    """
    if not user.is_authenticated or not user.is_active:
        return False
    return get_objects_for_user(
        user,
        f"review.{perm}",
        Document.objects.filter(pk=document.pk),
        with_superuser=False,
        accept_global_perms=False,
    ).exists()


def get_visible_document(user, pk) -> Document:
    """Return the piece if `user` may see it; otherwise 404, which says nothing of its existence."""
    try:
        return Document.objects.visible_to(user).with_related().get(pk=pk)
    except (Document.DoesNotExist, ValueError):
        raise Http404 from None


def grant_drafting(document: Document) -> None:
    """Let the drafter see and edit the piece, and their department's drafters see it."""
    assign_perm("view_document", document.drafter, document)
    assign_perm("change_document", document.drafter, document)
    assign_perm("view_document", role_group(Membership.Role.DRAFTER, document.department_id), document)


def freeze_drafting(document: Document) -> None:
    remove_perm("change_document", document.drafter, document)


def reopen_drafting(document: Document) -> None:
    assign_perm("change_document", document.drafter, document)


def stage_group(document: Document, stage: Stage):
    return role_group(stage.role, document.department_id)


def open_stage(document: Document, stage: Stage) -> None:
    """Let the stage's role holders see the piece and act on it."""
    group = stage_group(document, stage)
    assign_perm("view_document", group, document)
    assign_perm("review_document", group, document)


def close_stage(document: Document, stage: Stage) -> None:
    """End the stage's right to act; its reviewers keep seeing the piece."""
    remove_perm("review_document", stage_group(document, stage), document)


def publisher_groups(document: Document):
    return [
        role_group(Membership.Role.PUBLISHER, document.department_id),
        role_group(Membership.Role.PUBLISHER, None),
    ]


def open_publishing(document: Document) -> None:
    for group in publisher_groups(document):
        assign_perm("view_document", group, document)
        assign_perm("publish_document", group, document)


def close_publishing(document: Document) -> None:
    for group in publisher_groups(document):
        remove_perm("publish_document", group, document)


def can_audit(user) -> bool:
    """Return whether `user` may read and download the audit log and the register: auditors and superusers."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.is_superuser or user.memberships.filter(role=Membership.Role.AUDITOR).exists()


def get_export_job(user, pk) -> ExportJob:
    """Return an audit log export to the auditor who asked for it (or a superuser); otherwise 403 or 404."""
    if not can_audit(user):
        raise PermissionDenied
    job = get_object_or_404(ExportJob.objects.select_related("requested_by"), pk=pk)
    if job.requested_by_id != user.pk and not user.is_superuser:
        raise PermissionDenied
    return job


def can_keep_register(user) -> bool:
    """Return whether `user` may read and download the publication register: auditors, superusers and publishers."""
    if can_audit(user):
        return True
    return user.is_authenticated and user.is_active and user.memberships.filter(role=Membership.Role.PUBLISHER).exists()
