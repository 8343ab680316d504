from django.contrib import admin

from .models import AuditEvent, Document, Publication, Stage, Workflow


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0
    ordering = ["position"]


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    list_display = ["name", "department", "kind", "is_active"]
    list_filter = ["is_active", "department", "kind"]
    inlines = [StageInline]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records change only through the workflow's services, never by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdmin):
    list_display = ["title", "department", "drafter", "state", "current_stage", "due_date", "updated_at"]
    list_filter = ["state", "department", "kind", "is_major"]
    search_fields = ["title"]
    list_select_related = ["department", "drafter", "current_stage"]


@admin.register(Publication)
class PublicationAdmin(ReadOnlyAdmin):
    list_display = ["document", "channel", "url", "published_at", "publisher"]
    list_filter = ["channel"]
    list_select_related = ["document", "publisher"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["sequence", "created_at", "actor_name", "action", "object_repr", "from_state", "to_state", "stage"]
    list_filter = ["action"]
    search_fields = ["actor_name", "object_repr"]
