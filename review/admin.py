from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import AuditEvent, Document, Publication, Stage, Webhook, WebhookDelivery, Workflow


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


class WebhookForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        label=_("Events"), choices=Webhook.Event.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Webhook
        fields = ["url", "events", "secret", "is_active"]


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    form = WebhookForm
    list_display = ["url", "events", "is_active", "created_at"]
    list_filter = ["is_active"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "webhook", "event", "delivery", "attempt", "status_code", "error"]
    list_filter = ["event", "webhook"]
    list_select_related = ["webhook"]
