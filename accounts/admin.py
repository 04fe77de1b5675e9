from django.contrib import admin

from accounts.models import Membership, Organization


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "currency", "dataset_sync", "created_at"]
    list_filter = ["dataset_sync"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "org", "role", "can_export", "created_at"]
    list_filter = ["role", "can_export", "org"]
    search_fields = ["user__username", "user__email", "org__name"]
    autocomplete_fields = ["user", "org"]
    list_select_related = ["user", "org"]
