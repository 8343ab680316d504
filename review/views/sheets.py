"""Sign-off sheets (审签单), and the public page that checks a printed sheet against the record."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .. import services
from ..permissions import get_visible_document
from ..signoff import check_code, normalise_code


def pdf_response(content: bytes, filename: str, *, as_attachment: bool) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(as_attachment, filename)
    return response


@never_cache
@login_required
@require_GET
def signoff_sheet(request, pk):
    document = get_visible_document(request.user, pk)
    content = services.signoff_sheet(document=document, user=request.user, base_url=request.build_absolute_uri("/"))
    return pdf_response(content, f"signoff-sheet-{document.pk}.pdf", as_attachment=False)


@require_GET
def verify_lookup(request):
    """Send whoever types a sheet's code to its verification page (no login: anyone may check a sheet)."""
    code = request.GET.get("code", "").strip()
    if not code:
        return render(request, "review/verify.html", {"check": None, "code": ""})
    if normalised := normalise_code(code):
        return redirect("review:verify", code=normalised)
    return render(request, "review/verify.html", {"check": None, "code": code}, status=404)


@require_GET
def verify_sheet(request, code):
    """Show whether a printed sign-off sheet still matches the record.

    Every code that matches no sheet gets the same answer, whether or not a piece exists: the codes are
    unguessable, and this page tells nothing about pieces to those who do not hold one of their sheets.
    """
    check = check_code(code)
    return render(request, "review/verify.html", {"check": check, "code": code}, status=200 if check else 404)
