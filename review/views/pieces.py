"""Pieces: the queue, the list, writing and editing, the piece's page and its actions."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import OuterRef, Prefetch, Subquery, prefetch_related_objects
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.models import Membership, User
from audit.models import AuditEvent

from .. import prechecks, proofreading, redline, services
from ..context_processors import Navigation
from ..forms import (
    IMAGE_TYPES,
    AttachmentForm,
    CorrectionForm,
    DecisionForm,
    DocumentFilterForm,
    DocumentForm,
    PublishForm,
    PublishManyForm,
    SubmitForm,
    check_upload,
)
from ..models import Channel, ChecklistAnswer, Document, Kind, RecordedError, StageReview
from ..permissions import actions_for, get_visible_document
from .params import id_param

PAGE_SIZE = 25
RECENTLY_DECIDED = 10
# Where a service's input error belongs on each form of the piece's page.
FORM_FIELDS = {"reason": "opinion", "checklist": None, "errors": None, "channels": None}


def detail_context(request, document: Document, **forms) -> dict:
    """Return what the piece's page shows: its content, signatures, history, and the forms for what the user may do."""
    actions = actions_for(document, request.user)
    reviews = document.stage_reviews.all()
    current_review = next(
        (
            review
            for review in reviews
            if document.state == Document.State.IN_REVIEW
            and review.round == document.round
            and review.stage_id == document.current_stage_id
            and not review.cosignature
        ),
        None,
    )
    if current_review is not None:
        current_review.signed, current_review.needed = document.signatures_at_stage()
    return_review = None
    if document.state == Document.State.RETURNED:
        return_review = max(
            (r for r in reviews if r.decision == StageReview.Decision.RETURNED),
            key=lambda review: review.decided_at,
            default=None,
        )
    reject_review = None
    if document.state == Document.State.REJECTED:
        reject_review = next((r for r in reviews if r.decision == StageReview.Decision.REJECTED), None)
    can_review, can_publish, can_edit = "approve" in actions, "publish" in actions, "edit" in actions
    can_submit = "submit" in actions
    # From the roles the navigation reads anyway.
    can_reassign = current_review is not None and services.may_reassign(
        document, request.user, held=Navigation.of(request).held
    )
    for review in reviews:
        if review.decision == StageReview.Decision.APPROVED:
            review.error_rate = proofreading.review_error_rate(review)
            review.noes = [answer for answer in review.answers.all() if not answer.ok]
    # A high error rate found earlier in this round is pointed out to whoever reviews next.
    high_error_rates = [
        review
        for review in reviews
        if review.round == document.round and getattr(review, "error_rate", 0) > proofreading.threshold()
    ]
    # Revisions are numbered from 1 without gaps: at the first, the piece has only the one read with it.
    if document.current_revision is not None and document.current_revision.number == 1:
        revisions = [document.current_revision]
    else:
        revisions = list(document.revisions.select_related("author", "stage").order_by("number"))
    findings = prechecks.findings_for(document)
    open_findings = [finding for finding in findings if not finding.dismissed]
    return {
        "findings": findings,
        "open_findings": open_findings,
        "highlighted": prechecks.highlighted(proofreading.reading_text(document.title, document.body), open_findings),
        "revisions": revisions,
        "comparison": comparison(request, document, revisions),
        "high_error_rates": high_error_rates if document.state == Document.State.IN_REVIEW else [],
        "error_rate_threshold": proofreading.threshold(),
        "document": document,
        "actions": actions,
        "return_review": return_review,
        "reject_review": reject_review,
        "can_copy": reject_review is not None and request.user.pk == document.drafter_id,
        # Why someone holding the stage's role may not act (four eyes), so the missing panel is explained.
        "why_not": (
            document.review_refusal(request.user)
            if document.state == Document.State.IN_REVIEW
            and not can_review
            and request.user.pk != document.drafter_id
            and document.granted(request.user, "review_document")
            else None
        ),
        "reviews": [
            review
            for review in reviews
            if review.decision != StageReview.Decision.CANCELLED
            and (review.decision != StageReview.Decision.PENDING or review.round == document.round)
        ],
        "events": AuditEvent.objects.about(document),
        # Only publishing records a publication, and a published piece stays published.
        "publications": (
            document.publications.select_related("publisher") if document.state == Document.State.PUBLISHED else []
        ),
        "current_review": current_review,
        "can_edit": can_edit,
        "can_submit": can_submit,
        "submit_form": forms.get("submit_form") or SubmitForm(),
        "can_withdraw": "withdraw" in actions,
        "can_review": can_review,
        "acting_for": document.acting_for(request.user) if can_review else None,
        "can_reassign": can_reassign,
        "reassign_candidates": services.reassign_candidates(document) if can_reassign else [],
        "can_publish": can_publish,
        "decision_form": forms.get("decision_form")
        or (
            DecisionForm(initial={"review": current_review.pk}, stage=current_review.stage)
            if can_review and current_review
            else None
        ),
        "decision_action": forms.get("decision_action", ""),
        "publish_form": forms.get("publish_form") or (PublishForm(document=document) if can_publish else None),
        "attachments": document.attachments.all(),
        "attachment_form": forms.get("attachment_form") or (AttachmentForm() if can_submit else None),
    }


def comparison(request, document: Document, revisions: list) -> dict | None:
    """Return which two revisions the piece's page compares, and the redline between them (None: only one).

    By default a reviewer sees what changed since they last signed; anyone else, the latest change. The page's
    `from` and `to` choose others.
    """
    by_number = {revision.number: revision for revision in revisions}
    if len(by_number) < 2:
        return None
    current = revisions[-1].number
    numbers = {revision.pk: revision.number for revision in revisions}
    signed = [numbers[r.revision_id] for r in document.stage_reviews.all() if r.decided_by_id == request.user.pk]
    since_signed = bool(signed) and max(signed) < current
    old, new = (max(signed), current) if since_signed else (current - 1, current)
    chosen = [request.GET.get(name, "") for name in ("from", "to")]
    if all(value.isascii() and value.isdigit() and int(value) in by_number for value in chosen):
        old, new = map(int, chosen)
        since_signed = False
    return {
        "old": by_number[old],
        "new": by_number[new],
        "since_signed": since_signed,
        "pieces": redline.folded(redline.diff_revisions(by_number[old], by_number[new])),
    }


def render_detail(request, document: Document, *, status: int = 200, **forms):
    # The reviews once, for the page and for every check of who may do what (Document.read_reviews); the answers
    # and errors of the signatures only, the only reviews that show them.
    document.remember_reads()
    reviews = StageReview.objects.select_related("stage", "revision", "decided_by", "claimed_by")
    prefetch_related_objects([document], Prefetch("stage_reviews", reviews))
    prefetch_related_objects(
        [review for review in document.stage_reviews.all() if review.decision == StageReview.Decision.APPROVED],
        Prefetch("answers", ChecklistAnswer.objects.select_related("item")),
        Prefetch("errors", RecordedError.objects.select_related("category")),
    )
    context = detail_context(request, document, **forms)
    partial = "#changes" if request.headers.get("HX-Target") == "changes" else ""
    return render(request, f"review/document_detail.html{partial}", context, status=status)


def answer_refusal(
    request, document: Document, refusal: services.Refusal, *, form=None, form_name: str = "", **context
):
    """Answer a refused action: an input error on its form (400; 429 when signing is locked), else the conflict's
    reason on the piece's page; what the person may not do answers 403."""
    if isinstance(refusal, services.NotAllowed):
        raise refusal
    if form is not None and refusal.field is not None:
        form.add_error(FORM_FIELDS.get(refusal.field, refusal.field), refusal.message)
        status = 429 if isinstance(refusal, services.Locked) else 400
        return render_detail(request, document, status=status, **{form_name: form}, **context)
    messages.error(request, refusal.message)
    return redirect(document)


def act_on_piece(request, pk, act, done: str):
    """Do a simple action on the piece the user may see, through one service: its page then says it was done, or
    why not (a refusal of the person answers 403, as everywhere)."""
    document = get_visible_document(request.user, pk)
    try:
        act(document)
    except services.Refusal as refusal:
        return answer_refusal(request, document, refusal)
    messages.success(request, done)
    return redirect(document)


def precheck(request, document: Document, attempted: str, check):
    """Run a service's check of *when* and *who* before reading the form, so that a late or unauthorised request
    is refused (and recorded) whatever it holds; return the answer to a refusal, or None to go on."""
    try:
        with services.refused_as(attempted, request.user, document):
            check(document, request.user)
    except services.Refusal as refusal:
        return answer_refusal(request, document, refusal)
    return None


@login_required
def home(request):
    if Document.objects.awaiting(request.user).exists():
        return redirect("review:queue")
    return redirect("review:documents")


@login_required
def queue(request):
    waiting_on = StageReview.objects.filter(
        document=OuterRef("pk"), stage=OuterRef("current_stage"), round=OuterRef("round"), cosignature=False
    ).values("claimed_by")[:1]
    # The queue shows no text: sorting the pieces without it is much cheaper.
    documents = (
        Document.objects.awaiting(request.user).with_related().defer("body").annotate(claimer_id=Subquery(waiting_on))
    )
    page = Paginator(documents, PAGE_SIZE).get_page(request.GET.get("page"))
    # Who is on each piece (claimed or assigned): the others holding the role see it; one query for the page.
    page.object_list = list(page.object_list)
    claimers = User.objects.in_bulk({document.claimer_id for document in page.object_list if document.claimer_id})
    for document in page.object_list:
        document.claimer = claimers.get(document.claimer_id)
    decided = (
        StageReview.objects.filter(decided_by=request.user)
        .select_related("document")
        .order_by("-decided_at")[:RECENTLY_DECIDED]
    )
    Navigation.of(request).counted["queue_count"] = page.paginator.count  # the badge shows the same count
    return render(request, "review/queue.html", {"page": page, "decided": decided})


@login_required
def document_list(request):
    form = DocumentFilterForm(request.GET)
    # The list shows no text: sorting the pieces without it is much cheaper.
    documents = form.apply(Document.objects.visible_to(request.user).with_related().defer("body"), request.user)
    page = Paginator(documents, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "form": form,
        "query": query.urlencode(),
        # From the roles the navigation reads anyway: their own drafter role (not a lent one).
        "can_draft": (Membership.Role.DRAFTER, True) in Navigation.of(request).memberships,
    }
    partial = "#results" if request.headers.get("HX-Request") else ""
    return render(request, f"review/document_list.html{partial}", context, status=400 if form.errors else 200)


@login_required
def publish_queue(request):
    """The publisher's queue: approved pieces, by channel, not yet published there; several at once on one channel."""
    waiting = Document.objects.publishing_queue(request.user)
    documents = Document.objects.filter(pk__in=[document.pk for pieces in waiting.values() for document in pieces])
    form = PublishManyForm(request.POST if request.method == "POST" else None, documents=documents)
    if request.method == "POST" and form.is_valid():
        done, refused = 0, []
        for document in form.cleaned_data["documents"]:
            try:
                services.publish(
                    document=document,
                    user=request.user,
                    channel=form.cleaned_data["channel"],
                    published_at=form.cleaned_data["published_at"],
                )
                done += 1
            except services.Refusal as refusal:
                refused.append(f"《{document.title}》{refusal.message}")
        if done:
            channel = dict(Channel.choices)[form.cleaned_data["channel"]]
            messages.success(
                request, _("Marked %(count)s published on %(channel)s.") % {"count": done, "channel": channel}
            )
        for reason in refused:
            messages.error(request, reason)
        return redirect("review:publish_queue")
    groups = [(code, label, waiting[code]) for code, label in Channel.choices if code in waiting]
    status = 400 if form.errors else 200
    return render(request, "review/publish_queue.html", {"groups": groups, "form": form}, status=status)


def _save(request, form: DocumentForm, document: Document | None = None):
    """Save the form through the services (a new draft or changes), attach what came with a Word upload, and
    submit the piece too with "Save and submit"."""
    note = form.cleaned_data.get("note", "")
    round_before = document.round if document else 0
    try:
        if document is None:
            fields = {name: form.cleaned_data[name] for name in (*services.EDITABLE_FIELDS, "department")}
            document = services.create_document(drafter=request.user, **fields)
        else:
            changes = {name: form.cleaned_data[name] for name in services.EDITABLE_FIELDS}
            document = services.edit_document(document=document, user=request.user, note=note, **changes)
    except services.Invalid as refusal:
        form.add_error(refusal.field, refusal.message)
        return render(request, "review/document_form.html", {"form": form, "document": document}, status=400)
    except services.Conflict as refusal:
        messages.error(request, refusal.message)
        return redirect(document)
    if upload := form.cleaned_data.get("word_file"):
        _attach_word_files(request, document, upload, form.images)
    if round_before and document.round > round_before:
        messages.success(
            request,
            _("Saved. Review starts again at %(stage)s; your note goes to the reviewers.")
            % {"stage": _(document.current_stage.name)},
        )
        return redirect(document)
    if document.state not in Document.EDITABLE_STATES:
        messages.success(request, _("Saved."))
        return redirect(document)
    if "submit" not in request.POST:
        messages.success(request, _("Draft saved. Submit it when it is ready for review."))
        return redirect(document)
    try:
        services.submit_document(document=document, user=request.user, note=note)
    except services.Invalid as refusal:
        # The changes are saved; the note is still needed to submit them.
        form.add_error(refusal.field, refusal.message)
        return render(request, "review/document_form.html", {"form": form, "document": document}, status=400)
    except services.Conflict as refusal:
        return answer_refusal(request, document, refusal)
    messages.success(request, _("Saved and submitted for review."))
    return redirect(document)


def _attach_word_files(request, document: Document, upload, images: list) -> None:
    """Keep the uploaded Word document and the images taken out of its text with the piece."""
    files = [(upload, *check_upload(upload, {"docx": {"docx"}}))]
    skipped = []
    for image in images:
        try:
            files.append((image, *check_upload(image, IMAGE_TYPES)))
        except ValidationError:
            skipped.append(image.name)
    for file, extension, content_type in files:
        services.attach_file(
            document=document, user=request.user, upload=file, extension=extension, content_type=content_type
        )
    if skipped:
        messages.warning(
            request,
            _(
                "These images in the Word document could not be kept (not PNG, JPEG, GIF or WebP, or too large): "
                "%(names)s."
            )
            % {"names": ", ".join(skipped)},
        )


@login_required
def document_create(request):
    with services.refused_as("create", request.user):
        services.check_can_draft(request.user)
    form = DocumentForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        return _save(request, form)
    return render(request, "review/document_form.html", {"form": form})


@login_required
def document_edit(request, pk):
    document = get_visible_document(request.user, pk)
    if refused := precheck(request, document, "edit", services.check_revisable):
        return refused
    if document.kind == Kind.BULLETIN:  # an issue of the bulletin is made of its pieces, on its own page
        return redirect("review:bulletin_edit", pk=document.bulletin.pk)
    # A copy for the form: the ModelForm writes what was typed onto its instance; the service reads the stored row.
    form = DocumentForm(
        request.POST or None, request.FILES or None, instance=Document.objects.get(pk=document.pk), user=request.user
    )
    if request.method == "POST" and form.is_valid():
        return _save(request, form, document)
    return render(request, "review/document_form.html", {"form": form, "document": document})


@login_required
def document_detail(request, pk):
    return render_detail(request, get_visible_document(request.user, pk))


@login_required
@require_POST
def document_submit(request, pk):
    document = get_visible_document(request.user, pk)
    form = SubmitForm(request.POST)
    if not form.is_valid():
        return render_detail(request, document, status=400, submit_form=form)
    try:
        services.submit_document(document=document, user=request.user, note=form.cleaned_data["note"])
    except services.Refusal as refusal:
        return answer_refusal(request, document, refusal, form=form, form_name="submit_form")
    messages.success(request, _("Submitted for review."))
    return redirect(document)


@login_required
@require_POST
def document_copy(request, pk):
    """Start a new draft from a rejected piece's text (the drafter's)."""
    document = get_visible_document(request.user, pk)
    try:
        copy = services.copy_document(document=document, user=request.user)
    except services.Refusal as refusal:
        return answer_refusal(request, document, refusal)
    messages.success(request, _("A new draft, copied from the rejected piece. Change it and submit it when ready."))
    return redirect(copy)


@login_required
def document_correct(request, pk):
    """The reviewer at the current stage corrects the text in place (校对)."""
    document = get_visible_document(request.user, pk)
    if refused := precheck(request, document, "correct", services.check_correctable):
        return refused
    form = CorrectionForm(request.POST or None, initial={"title": document.title, "body": document.body})
    if request.method == "POST" and form.is_valid():
        try:
            services.correct_document(document=document, user=request.user, **form.cleaned_data)
        except services.Invalid as refusal:
            form.add_error(refusal.field, refusal.message)
        except services.Refusal as refusal:
            return answer_refusal(request, document, refusal)
        else:
            messages.success(request, _("Correction saved as a new revision in your name."))
            return redirect(document)
    findings = [finding for finding in prechecks.findings_for(document) if not finding.dismissed]
    context = {"form": form, "document": document, "findings": findings}
    return render(request, "review/document_correct.html", context, status=400 if form.errors else 200)


def approval_message(document: Document, stage) -> str:
    """Say what an approval did: which piece passed which stage, and where it went (to whom), or that it is done."""
    if document.current_stage_id == stage.pk:  # one signature of the several the stage needs
        signed, needed = document.signatures_at_stage()
        return _("Signed. %(stage)s needs %(needed)s signatures; %(signed)s given so far.") % {
            "stage": _(stage.name), "needed": needed, "signed": signed,
        }  # fmt: skip
    if document.current_stage_id is None:
        return _("“%(title)s” passed %(stage)s: it is approved and waits to be published.") % {
            "title": document.title, "stage": _(stage.name),
        }  # fmt: skip
    people = "、".join(person.printed_name for person in services.reassign_candidates(document)[:3])
    return _("“%(title)s” passed %(stage)s and went to %(people)s for %(next)s.") % {
        "title": document.title, "stage": _(stage.name), "people": people or _("its reviewers"),
        "next": _(document.current_stage.name),
    }  # fmt: skip


def _decide(request, pk, action: str):
    document = get_visible_document(request.user, pk)
    form = DecisionForm(request.POST, stage=document.current_stage)
    if not form.is_valid():
        return render_detail(request, document, status=400, decision_form=form, decision_action=action)
    review_id, opinion = form.cleaned_data["review"], form.cleaned_data["opinion"]
    try:
        if action == "approve":
            stage = document.current_stage
            document = services.approve(
                document=document,
                user=request.user,
                password=form.cleaned_data["password"],
                opinion=opinion,
                review_id=review_id,
                checklist=form.checklist(),
                errors=form.errors_found(),
            )
            messages.success(request, approval_message(document, stage))
        elif action == "return":
            services.return_for_changes(document=document, user=request.user, reason=opinion, review_id=review_id)
            messages.success(request, _("Returned to the drafter for changes."))
        else:
            services.reject(document=document, user=request.user, reason=opinion, review_id=review_id)
            messages.success(request, _("Rejected."))
    except services.Refusal as refusal:
        return answer_refusal(request, document, refusal, form=form, form_name="decision_form", decision_action=action)
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
    if refused := precheck(request, document, "publish", services.check_publishable):
        return refused
    form = PublishForm(request.POST, document=document)
    if not form.is_valid():
        return render_detail(request, document, status=400, publish_form=form)
    try:
        services.publish(document=document, user=request.user, **form.cleaned_data)
    except services.Refusal as refusal:
        return answer_refusal(request, document, refusal, form=form, form_name="publish_form")
    messages.success(request, _("Marked published."))
    return redirect(document)


@login_required
@require_POST
def document_withdraw(request, pk):
    return act_on_piece(
        request,
        pk,
        lambda document: services.withdraw(document=document, user=request.user, reason=request.POST.get("reason", "")),
        _("Withdrawn."),
    )


@login_required
@require_POST
def document_dismiss(request, pk):
    def dismiss(document):
        post = request.POST
        services.dismiss_finding(
            document=document,
            user=request.user,
            rule=post.get("rule", ""),
            excerpt=post.get("excerpt", ""),
            reason=post.get("reason", ""),
        )

    return act_on_piece(request, pk, dismiss, _("Finding dismissed; the reason is recorded."))


@login_required
@require_POST
def document_claim(request, pk):
    return act_on_piece(
        request,
        pk,
        lambda document: services.claim(document=document, user=request.user),
        _("You are on it: the others holding the role see so."),
    )


@login_required
@require_POST
def document_release(request, pk):
    return act_on_piece(
        request,
        pk,
        lambda document: services.release(document=document, user=request.user),
        _("Released: anyone holding the role may take it."),
    )


@login_required
@require_POST
def document_reassign(request, pk):
    document = get_visible_document(request.user, pk)
    if refused := precheck(request, document, "reassign", services.check_reassigner):
        return refused
    to_id = id_param(request.POST.get("to"))
    to = User.objects.filter(pk=to_id).first() if to_id else None
    try:
        if to is None:
            raise services.Invalid(gettext_lazy("Choose who takes the stage over."), field="to")
        services.reassign(document=document, user=request.user, to=to)
    except services.Refusal as refusal:
        return answer_refusal(request, document, refusal)
    messages.success(request, _("Assigned to %(name)s, who is told.") % {"name": to.printed_name})
    return redirect(document)
