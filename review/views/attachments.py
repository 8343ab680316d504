from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from .. import services
from ..forms import AttachmentForm
from ..permissions import get_visible_document
from .pieces import answer_refusal, precheck, render_detail


@login_required
@require_POST
def attachment_add(request, pk):
    document = get_visible_document(request.user, pk)
    if refused := precheck(request, document, "attach", services.check_editable):
        return refused
    form = AttachmentForm(request.POST, request.FILES)
    if not form.is_valid():
        return render_detail(request, document, status=400, attachment_form=form)
    try:
        services.attach_file(
            document=document,
            user=request.user,
            upload=form.cleaned_data["file"],
            extension=form.cleaned_data["extension"],
            content_type=form.cleaned_data["content_type"],
        )
    except services.Refusal as refusal:
        return answer_refusal(request, document, refusal)
    messages.success(request, _("File attached."))
    return redirect(document)


@login_required
@require_GET
def attachment_download(request, pk, attachment_id):
    document = get_visible_document(request.user, pk)
    attachment = get_object_or_404(document.attachments, pk=attachment_id)
    services.record_download(user=request.user, document=document, format="attachment", **attachment.describe())
    response = FileResponse(attachment.file.open("rb"), as_attachment=True, filename=attachment.original_name)
    response["Content-Type"] = attachment.content_type
    return response


@login_required
@require_POST
def attachment_remove(request, pk, attachment_id):
    document = get_visible_document(request.user, pk)
    attachment = get_object_or_404(document.attachments, pk=attachment_id)
    try:
        services.remove_attachment(attachment=attachment, user=request.user)
    except services.Refusal as refusal:
        return answer_refusal(request, document, refusal)
    messages.success(request, _("File removed."))
    return redirect(document)
