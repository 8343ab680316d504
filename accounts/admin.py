from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from . import services
from .models import Department, Membership, User


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["name", "code"]
    search_fields = ["name", "code"]
    prepopulated_fields = {"code": ["name"]}


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = BaseUserAdmin.fieldsets + ((_("Signature"), {"fields": ["display_name"]}),)
    list_display = ["username", "display_name", "email", "is_active", "is_staff"]
    search_fields = ["username", "display_name", "email"]


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
        membership = services.add_membership(
            user=obj.user, role=obj.role, department=obj.department, by=request.user
        )
        obj.pk = membership.pk

    def delete_model(self, request, obj):
        services.remove_membership(membership=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for membership in queryset.select_related("user", "department"):
            services.remove_membership(membership=membership, by=request.user)
