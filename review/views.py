from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_fsm import has_transition_perm

from accounts.models import Membership

from . import services
from .forms import DecisionForm, DocumentForm, PublishForm
from .models import AuditEvent, Document, StageReview
from .permissions import get_visible_document

PAGE_SIZE = 25


def refuse(request, document: Document, attempted: str, error: Exception):
    """Record a refused action (outside the rolled-back transaction), then answer the user."""
    AuditEvent.objects.record(
        action=AuditEvent.Action.REFUSED,
        actor=request.user,
        document=document,
        from_state=document.state,
        to_state=document.state,
        data={"attempted": attempted, "reason": str(error)},
    )
    if isinstance(error, PermissionDenied):
        raise error
    messages.error(request, str(error))
    return redirect(document)


@login_required
def home(request):
    if Document.objects.awaiting(request.user).exists():
        return redirect("review:queue")
    return redirect("review:documents")


@login_required
def queue(request):
    documents = Document.objects.awaiting(request.user).with_related()
    page = Paginator(documents, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "review/queue.html", {"page": page})


@login_required
def document_list(request):
    documents = Document.objects.visible_to(request.user).with_related()
    state = request.GET.get("state", "")
    if state in Document.State.values:
        documents = documents.filter(state=state)
    mine = request.GET.get("mine") == "1"
    if mine:
        documents = documents.filter(drafter=request.user)
    page = Paginator(documents, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "states": Document.State.choices,
        "state": state,
        "mine": mine,
        "can_draft": request.user.memberships.filter(role=Membership.Role.DRAFTER).exists(),
    }
    partial = "#results" if request.headers.get("HX-Request") else ""
    template = f"review/document_list.html{partial}"
    return render(request, template, context)


@login_required
def document_create(request):
    if not request.user.memberships.filter(role=Membership.Role.DRAFTER).exists():
        raise PermissionDenied(_("You do not draft for any department; ask an administrator for the drafter role."))
    form = DocumentForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        document = services.create_document(drafter=request.user, **form.cleaned_data)
        return _saved(request, document)
    return render(request, "review/document_form.html", {"form": form})


@login_required
def document_edit(request, pk):
    document = get_visible_document(request.user, pk)
    if not has_transition_perm(document.submit, request.user):
        raise PermissionDenied(_("Only the drafter can edit this piece, and only before it is submitted."))
    form = DocumentForm(request.POST or None, instance=document, user=request.user)
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in services.EDITABLE_FIELDS}
        # The ModelForm has already written the values onto the instance; start from the stored row.
        document.refresh_from_db()
        try:
            services.edit_document(document=document, user=request.user, **changes)
        except (PermissionDenied, services.Conflict) as error:
            return refuse(request, document, "edit", error)
        return _saved(request, document)
    return render(request, "review/document_form.html", {"form": form, "document": document})


def _saved(request, document: Document):
    """Answer a saved draft; with "Save and submit", send it on to the first stage as well."""
    if "submit" not in request.POST:
        messages.success(request, _("Draft saved. Submit it when it is ready for review."))
        return redirect(document)
    try:
        services.submit_document(document=document, user=request.user)
    except (PermissionDenied, services.Conflict) as error:
        return refuse(request, document, "submit", error)
    messages.success(request, _("Saved and submitted for review."))
    return redirect(document)


def _detail_context(request, document: Document, **forms) -> dict:
    user = request.user
    current_review = next(
        (
            review
            for review in document.stage_reviews.all()
            if document.state == Document.State.IN_REVIEW
            and review.round == document.round
            and review.stage_id == document.current_stage_id
        ),
        None,
    )
    can_review = document.state == Document.State.IN_REVIEW and document.review_refusal(user) is None
    can_publish = has_transition_perm(document.publish, user)
    return_review = None
    if document.state == Document.State.CHANGES_REQUESTED:
        return_review = max(
            (r for r in document.stage_reviews.all() if r.decision == StageReview.Decision.CHANGES_REQUESTED),
            key=lambda review: review.decided_at,
            default=None,
        )
    context = {
        "document": document,
        "return_review": return_review,
        "reviews": [
            review
            for review in document.stage_reviews.all()
            if review.decision != StageReview.Decision.CANCELLED
            and (review.decision != StageReview.Decision.PENDING or review.round == document.round)
        ],
        "events": document.audit_events.all(),
        "publications": document.publications.select_related("publisher"),
        "current_review": current_review,
        "can_edit": has_transition_perm(document.submit, user),
        "can_withdraw": has_transition_perm(document.withdraw, user),
        "can_review": can_review,
        "can_publish": can_publish,
        "decision_form": forms.get("decision_form")
        or (DecisionForm(initial={"review": current_review.pk}) if can_review and current_review else None),
        "decision_action": forms.get("decision_action", ""),
        "publish_form": forms.get("publish_form") or (PublishForm(document=document) if can_publish else None),
    }
    return context


@login_required
def document_detail(request, pk):
    document = get_visible_document(request.user, pk)
    document = Document.objects.prefetch_related("stage_reviews__decided_by").with_related().get(pk=document.pk)
    return render(request, "review/document_detail.html", _detail_context(request, document))


@login_required
@require_POST
def document_submit(request, pk):
    document = get_visible_document(request.user, pk)
    try:
        services.submit_document(document=document, user=request.user)
    except (PermissionDenied, services.Conflict) as error:
        return refuse(request, document, "submit", error)
    messages.success(request, _("Submitted for review."))
    return redirect(document)


def _decide(request, pk, action: str):
    document = get_visible_document(request.user, pk)
    # Who and when come before what: an outsider or a late click is refused whatever the form says.
    if document.state != Document.State.IN_REVIEW:
        error = services.Conflict(_("This piece is no longer in review."))
        return refuse(request, document, action, error)
    if refusal := document.review_refusal(request.user):
        return refuse(request, document, action, PermissionDenied(refusal))
    form = DecisionForm(request.POST, reason_required=action != "approve")
    if not form.is_valid():
        context = _detail_context(request, document, decision_form=form, decision_action=action)
        return render(request, "review/document_detail.html", context, status=400)
    review_id, opinion = form.cleaned_data["review"], form.cleaned_data["opinion"]
    try:
        if action == "approve":
            services.approve(document=document, user=request.user, opinion=opinion, review_id=review_id)
            messages.success(request, _("Approved. Thank you."))
        elif action == "return":
            services.request_changes(document=document, user=request.user, reason=opinion, review_id=review_id)
            messages.success(request, _("Returned to the drafter for changes."))
        else:
            services.reject(document=document, user=request.user, reason=opinion, review_id=review_id)
            messages.success(request, _("Rejected."))
    except (PermissionDenied, services.Conflict) as error:
        return refuse(request, document, action, error)
    if Document.objects.awaiting(request.user).exists():
        return redirect("review:queue")
    return redirect(document)


@login_required
@require_POST
def document_approve(request, pk):
    return _decide(request, pk, "approve")


@login_required
@require_POST
def document_return(request, pk):
    return _decide(request, pk, "return")


@login_required
@require_POST
def document_reject(request, pk):
    return _decide(request, pk, "reject")


@login_required
@require_POST
def document_publish(request, pk):
    document = get_visible_document(request.user, pk)
    if not has_transition_perm(document.publish, request.user):
        if document.state in (Document.State.APPROVED, Document.State.PUBLISHED):
            error = PermissionDenied(_("You are not a publisher for this piece."))
        else:
            error = services.Conflict(_("Only an approved piece can be marked published."))
        return refuse(request, document, "publish", error)
    form = PublishForm(request.POST, document=document)
    if not form.is_valid():
        return render(
            request, "review/document_detail.html", _detail_context(request, document, publish_form=form), status=400
        )
    try:
        services.publish(document=document, user=request.user, **form.cleaned_data)
    except (PermissionDenied, services.Conflict) as error:
        return refuse(request, document, "publish", error)
    messages.success(request, _("Marked published."))
    return redirect(document)


@login_required
@require_POST
def document_withdraw(request, pk):
    document = get_visible_document(request.user, pk)
    try:
        services.withdraw(document=document, user=request.user, reason=request.POST.get("reason", ""))
    except (PermissionDenied, services.Conflict) as error:
        return refuse(request, document, "withdraw", error)
    messages.success(request, _("Withdrawn."))
    return redirect(document)
