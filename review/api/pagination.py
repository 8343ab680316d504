from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """Pages of 25 with `count`, `next`, `previous` and `results`; a page number that is not one is a 400."""

    page_size = 25

    def paginate_queryset(self, queryset, request, view=None):
        number = request.query_params.get(self.page_query_param, "1")
        if not (number.isascii() and number.isdigit() and 0 < int(number) < 2**31):
            raise exceptions.ValidationError({self.page_query_param: [_("A page number is a whole number from 1.")]})
        return super().paginate_queryset(queryset, request, view)


class AuditPagination(pagination.CursorPagination):
    """The audit log, newest first, found by sequence rather than by counting a log that may be millions long."""

    page_size = 50
    ordering = "-sequence"
