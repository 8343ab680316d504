from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from audit.admin import AuditedAdmin

from . import services
from .models import ApiToken, Delegation, Department, Membership, User

# Permission groups mirror memberships (accounts.services.sync_role_groups); editing them by hand would let
# someone act in a role that no membership and no audit event records.
admin.site.unregister(Group)


@admin.register(Department)
class DepartmentAdmin(AuditedAdmin):
    list_display = ["name", "code"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"code": ["name"]}
    audited_fields = ("name", "code")


@admin.register(User)
class UserAdmin(AuditedAdmin, BaseUserAdmin):
    """People: roles are given only through memberships, never through groups or permissions here."""

    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "display_name", "email")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    list_display = ["username", "display_name", "email", "is_active", "is_staff"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    search_fields = ["username", "display_name", "email"]
    readonly_fields = ["last_login", "date_joined"]
    audited_fields = ("username", "display_name", "email", "is_active", "is_staff", "is_superuser")


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Role changes go through the services, so group permissions follow and the audit log records them."""

    list_display = ["user", "role", "department"]
    list_filter = ["role", "department"]
    search_fields = ["user__username", "user__display_name"]
    autocomplete_fields = ["user"]

    def has_change_permission(self, request, obj=None):
        # A membership is granted or removed, never edited in place: each change is its own audit event.
        return False

    def save_model(self, request, obj, form, change):
        membership = services.add_membership(user=obj.user, role=obj.role, department=obj.department, by=request.user)
        obj.pk = membership.pk

    def delete_model(self, request, obj):
        services.remove_membership(membership=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for membership in queryset.select_related("user", "department"):
            services.remove_membership(membership=membership, by=request.user)


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedAdmin):
    """Tokens are issued through the API; here they can be seen (never their keys) and revoked by deleting them."""

    list_display = ["user", "prefix", "created_at", "expires_at", "last_used_at"]
    list_select_related = ["user"]
    search_fields = ["user__username", "prefix"]
    audited_fields = ("user", "prefix", "expires_at")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Delegation)
class DelegationAdmin(admin.ModelAdmin):
    """Delegations go through the services (checked, and each recorded in the audit log); an administrator may
    set one up for a reviewer who cannot, and revoke any."""

    list_display = ["membership", "deputy", "starts_on", "ends_on", "reason", "revoked_at"]
    list_select_related = ["membership__user", "membership__department", "deputy"]
    list_filter = ["membership__role", "starts_on"]
    search_fields = ["membership__user__username", "membership__user__display_name", "deputy__username"]
    autocomplete_fields = ["deputy"]
    fields = ["membership", "deputy", "starts_on", "ends_on", "reason"]
    actions = ["revoke"]

    def has_change_permission(self, request, obj=None):
        return False  # a delegation is set up or revoked, never edited in place

    def has_delete_permission(self, request, obj=None):
        return False  # revoked, so that its record stays

    def get_form(self, request, obj=None, **kwargs):
        base = super().get_form(request, obj, **kwargs)

        class CheckedForm(base):
            def clean(self):
                cleaned = super().clean()
                if not self.errors:
                    fields = ("membership", "deputy", "starts_on", "ends_on")
                    try:
                        services.check_delegation(by=request.user, **{name: cleaned[name] for name in fields})
                    except ValidationError as error:
                        self.add_error(None, error)
                return cleaned

        return CheckedForm

    def save_model(self, request, obj, form, change):
        delegation = services.delegate(
            membership=obj.membership, deputy=obj.deputy, starts_on=obj.starts_on, ends_on=obj.ends_on,
            reason=obj.reason, by=request.user,
        )  # fmt: skip
        obj.pk = delegation.pk

    @admin.action(description=_("Revoke the selected delegations"))
    def revoke(self, request, queryset):
        for delegation in queryset.select_related("membership"):
            services.revoke_delegation(delegation=delegation, by=request.user)
