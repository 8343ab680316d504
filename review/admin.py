from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from accounts.models import Department
from audit.admin import AuditedAdmin, ReadOnlyAdmin

from .models import (
    Channel,
    ChecklistItem,
    Delivery,
    Dismissal,
    Document,
    ErrorCategory,
    Kind,
    Publication,
    Robot,
    RouteStage,
    SensitiveTerm,
    Stage,
    Webhook,
    WebhookDelivery,
    Workflow,
)
from .models.notifications import Event as NotificationEvent


class StageForm(forms.ModelForm):
    """A stage, with its conditions as boxes to tick rather than JSON to type."""

    only_kinds = forms.MultipleChoiceField(
        label=_("only for these kinds"), choices=Kind.choices, required=False, widget=forms.CheckboxSelectMultiple,
        help_text=Stage._meta.get_field("only_kinds").help_text,
    )  # fmt: skip
    only_channels = forms.MultipleChoiceField(
        label=_("only for these channels"), choices=Channel.choices, required=False,
        widget=forms.CheckboxSelectMultiple, help_text=Stage._meta.get_field("only_channels").help_text,
    )  # fmt: skip
    only_departments = forms.TypedMultipleChoiceField(
        label=_("only for these departments"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple,
        choices=lambda: Department.objects.values_list("pk", "name"),
        help_text=Stage._meta.get_field("only_departments").help_text,
    )  # fmt: skip

    class Meta:
        model = Stage
        fields = [
            "workflow", "position", "name", "proofread_name", "role", "quorum", "major_only", "only_kinds",
            "only_channels", "only_departments", "time_limit", "urgent_time_limit", "escalate_to",
        ]  # fmt: skip


class StageInline(admin.StackedInline):
    # Stacked: a stage has a dozen fields, too many for a table's row on a phone (or even a desktop's screen).
    model = Stage
    form = StageForm
    extra = 0
    ordering = ["position"]


@admin.register(Workflow)
class WorkflowAdmin(AuditedAdmin):
    list_display = ["name", "department", "kind", "is_active"]
    list_filter = ["is_active", "department", "kind"]
    inlines = [StageInline]
    audited_fields = ("name", "department", "kind", "is_active")
    fieldsets = [
        (
            None,
            {
                "fields": ["name", "department", "kind", "is_active"],
                "description": _(
                    "Changes apply to pieces submitted from now on. A piece copies its route (stages, names, roles) "
                    "when it is first submitted and keeps that copy: editing, reordering or deleting stages here "
                    "never changes a piece already under review."
                ),
            },
        )
    ]

    def audited_values(self, obj) -> dict:
        # The stages as saved, each as a piece would copy it (the change message names only what changed).
        stages = [[getattr(stage, name) for name in RouteStage.COPIED] for stage in obj.stages.order_by("position")]
        return {**super().audited_values(obj), "stages": stages}


class ChecklistItemInline(admin.TabularInline):
    model = ChecklistItem
    extra = 1
    ordering = ["position", "pk"]


@admin.register(Stage)
class StageAdmin(AuditedAdmin):
    """A stage with its two checklists (review and proofread): what every signature at it must answer."""

    form = StageForm
    list_display = ["workflow", "position", "name", "proofread_name", "role", "quorum", "major_only", "time_limit"]
    list_filter = ["workflow", "role"]
    ordering = ["workflow", "position"]
    inlines = [ChecklistItemInline]
    audited_fields = (
        "workflow", "position", "name", "proofread_name", "role", "quorum", "major_only", "time_limit",
        "urgent_time_limit", "escalate_to", "only_kinds", "only_channels", "only_departments",
    )  # fmt: skip

    def audited_values(self, obj) -> dict:
        checklist = [[item.part, item.position, item.text] for item in obj.checklist.order_by("position", "pk")]
        return {**super().audited_values(obj), "checklist": checklist}


@admin.register(ErrorCategory)
class ErrorCategoryAdmin(AuditedAdmin):
    """The kinds of error proofreaders count and their weights (the publishing standard's, editable)."""

    list_display = ["name", "weight", "position", "is_active"]
    list_editable = ["weight", "position", "is_active"]
    audited_fields = ("name", "weight", "position", "is_active")


@admin.register(SensitiveTerm)
class SensitiveTermAdmin(AuditedAdmin):
    """The organisation's sensitive terms (pointed out) and banned or outdated ones (with what to write instead)."""

    list_display = ["term", "category", "severity", "replacement", "is_active"]
    list_filter = ["category", "severity", "is_active"]
    search_fields = ["term", "replacement"]
    audited_fields = ("term", "category", "severity", "replacement", "is_active")


@admin.register(Dismissal)
class DismissalAdmin(ReadOnlyAdmin):
    list_display = ["document", "rule", "excerpt", "reason", "dismissed_by", "dismissed_at"]
    list_select_related = ["document", "dismissed_by"]


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


class WebhookForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        label=_("Events"), choices=Webhook.Event.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Webhook
        fields = ["url", "events", "secret", "is_active"]


@admin.register(Webhook)
class WebhookAdmin(AuditedAdmin):
    form = WebhookForm
    list_display = ["url", "events", "is_active", "created_at"]
    list_filter = ["is_active"]
    audited_fields = ("url", "events", "is_active")  # never the secret


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "webhook", "event", "delivery", "attempt", "status_code", "error"]
    list_filter = ["event", "webhook"]
    list_select_related = ["webhook"]


class RobotForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        label=_("Events"), choices=NotificationEvent.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Robot
        fields = ["name", "kind", "url", "secret", "department", "events", "is_active"]


@admin.register(Robot)
class RobotAdmin(AuditedAdmin):
    form = RobotForm
    list_display = ["name", "kind", "department", "is_active"]
    list_filter = ["kind", "is_active", "department"]
    audited_fields = ("name", "kind", "department", "events", "is_active")  # never the address (it holds the key)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    """What was sent by email and to the robots, and what failed: retried with growing delays, then given up."""

    list_display = ["created_at", "channel", "recipient", "event", "document", "attempt", "status", "error"]
    list_filter = ["status", "channel", "event"]
    list_select_related = ["document"]
