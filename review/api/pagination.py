from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """Pages of 25 with `count`, `next`, `previous` and `results`."""

    page_size = 25


class AuditPagination(pagination.CursorPagination):
    """The audit log, newest first, found by sequence rather than by counting a log that may be millions long."""

    page_size = 50
    ordering = "-sequence"
