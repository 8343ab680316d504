"""The publication register (登记造册): its page and its downloads."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .. import services
from ..forms import RegisterFilterForm
from ..models import Publication
from ..pdf import register_pdf
from ..permissions import can_keep_register
from ..register import register_csv, register_xlsx
from .pieces import PAGE_SIZE

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
WRITERS = {"csv": register_csv, "xlsx": register_xlsx, "pdf": register_pdf}


def _require_register_keeper(user) -> None:
    if not can_keep_register(user):
        raise PermissionDenied(_("Only auditors and publishers keep the publication register."))


@login_required
@require_GET
def register(request):
    _require_register_keeper(request.user)
    form = RegisterFilterForm(request.GET)
    if form.is_valid():
        publications = (
            Publication.objects.published_between(**form.filters()).for_register().order_by("-published_at", "-pk")
        )
        query = urlencode(form.describe())
    else:
        publications, query = Publication.objects.none(), ""
    page = Paginator(publications, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "review/register.html", {"form": form, "page": page, "query": query})


@never_cache
@login_required
@require_GET
def register_download(request, fmt):
    _require_register_keeper(request.user)
    if fmt not in CONTENT_TYPES:
        raise Http404
    form = RegisterFilterForm(request.GET)
    if not form.is_valid():
        context = {"form": form, "page": Paginator(Publication.objects.none(), PAGE_SIZE).get_page(1), "query": ""}
        return render(request, "review/register.html", context, status=400)
    # The register is kept in the order things went out, numbered from 1.
    publications = Publication.objects.published_between(**form.filters()).for_register().order_by("published_at", "pk")
    described = form.describe()
    services.record_download(user=request.user, format=f"register_{fmt}", filters=described, rows=publications.count())
    content = register_pdf(publications, described) if fmt == "pdf" else WRITERS[fmt](publications)
    response = HttpResponse(content, content_type=CONTENT_TYPES[fmt])
    name = f"publication-register-{timezone.localdate():%Y%m%d}.{fmt}"
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response
