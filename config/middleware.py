from django.http import HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _


class RefuseNullCharactersMiddleware:
    """Refuse a request whose address or query holds a NUL character (PostgreSQL cannot store or compare one).

    Form fields refuse NUL themselves; query parameters reach filters and searches (the admin's among them)
    unchecked, so they are checked once here.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        query = ((key, *values) for key, values in request.GET.lists())
        if "\x00" in request.path or any("\x00" in text for texts in query for text in texts):
            message = _("The request holds a NUL character, which no field can take.")
            if request.path.startswith("/api/"):
                return JsonResponse({"detail": message}, status=400)
            return HttpResponseBadRequest(message)
        return self.get_response(request)
