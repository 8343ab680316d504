"""Error pages: the generic templates for people, JSON under /api/ (for errors raised outside the API's views);
and the site's icon."""

from django.http import JsonResponse
from django.shortcuts import redirect
from django.templatetags.static import static
from django.views import defaults


def _api(request) -> bool:
    return request.path.startswith("/api/")


def bad_request(request, exception):
    if _api(request):
        return JsonResponse({"detail": "Bad request."}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception):
    if _api(request):
        return JsonResponse(
            {"detail": str(exception) or "You do not have permission to perform this action."}, status=403
        )
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception):
    if _api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _api(request):
        return JsonResponse({"detail": "Server error."}, status=500)
    return defaults.server_error(request)


def favicon(request):
    """The site's icon, where a page names none (its static URL is looked up when asked, not at start-up)."""
    return redirect(static("review/favicon.svg"), permanent=True)
