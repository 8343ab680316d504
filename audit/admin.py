from django.contrib import admin
from django.db import models

from .labels import Action
from .models import AuditEvent, Checkpoint, ExportJob, Verification


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that change only through the application, never by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AuditedAdmin(admin.ModelAdmin):
    """An admin whose every addition, change and deletion is also an audit event, with who made it.

    `audited_fields` names the fields whose new values the event records (never a secret).
    """

    audited_fields: tuple[str, ...] = ()

    def log_addition(self, request, obj, message):
        self._record(request, obj, Action.ADMIN_ADDED, message)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        self._record(request, obj, Action.ADMIN_CHANGED, message)
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        for obj in queryset:
            self._record(request, obj, Action.ADMIN_DELETED, "")
        return super().log_deletions(request, queryset)

    def audited_values(self, obj) -> dict:
        """Return what the event records of the object as it now is."""
        return {name: _plain(getattr(obj, name)) for name in self.audited_fields}

    def _record(self, request, obj, action: str, message) -> None:
        values = self.audited_values(obj)
        data = {"model": obj._meta.label_lower, "change": message, **({"values": values} if values else {})}
        AuditEvent.objects.record(action=action, actor=request.user, obj=obj, data=data)


def _plain(value):
    """Return a field's value as the audit log can hold it: a related object by its key, the rest as is or as text."""
    if isinstance(value, models.Model):
        return value.pk
    if value is None or isinstance(value, bool | int | str | list):
        return value
    return str(value)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["sequence", "created_at", "actor_name", "action", "object_type", "object_repr", "to_state"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_name", "object_repr"]


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyAdmin):
    list_display = ["number", "sequence", "hash", "signed_at"]


@admin.register(Verification)
class VerificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "status", "first_sequence", "last_sequence", "ok", "bad_sequence", "problem"]
    list_filter = ["kind", "ok"]


@admin.register(ExportJob)
class ExportJobAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "requested_by", "format", "status", "row_count", "head_sequence"]
    list_filter = ["format", "status"]
