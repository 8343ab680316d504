from .context import RequestContext, current_request


class AuditContextMiddleware:
    """Make the request's address, user agent and request id available to the audit events it writes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        context = RequestContext.from_request(request)
        token = current_request.set(context)
        try:
            response = self.get_response(request)
        finally:
            current_request.reset(token)
        response["X-Request-ID"] = context.request_id
        return response
