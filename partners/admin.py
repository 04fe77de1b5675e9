from django.contrib import admin, messages

from partners import services
from partners.models import ConnectLink, Partner, PartnerApiKey, PartnerOrganization


class PartnerOrganizationInline(admin.TabularInline):
    """Grant an organisation to the partner: saving creates the key it acts through."""

    model = PartnerOrganization
    extra = 0
    fields = ["org", "created_org", "created_at"]
    readonly_fields = ["created_org", "created_at"]
    autocomplete_fields = ["org"]


class PartnerApiKeyInline(admin.TabularInline):
    model = PartnerApiKey
    extra = 0
    fields = ["name", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # the "Create a key" action shows the key once


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    inlines = [PartnerApiKeyInline]
    actions = ["create_key"]
    readonly_fields = ["organisations"]

    @admin.display(description="Organisations in its scope")
    def organisations(self, partner):
        return ", ".join(grant.org.name for grant in partner.grants.select_related("org")) or "—"

    @admin.action(description="Create an API key (shown once)")
    def create_key(self, request, queryset):
        for partner in queryset:
            created = services.partner_key_create(
                partner=partner, name="Created in admin", actor=request.user
            )
            messages.warning(
                request,
                f"{partner.name}: copy the key now, it is shown this once: {created.plaintext}",
            )


@admin.register(PartnerOrganization)
class PartnerOrganizationAdmin(admin.ModelAdmin):
    """Grants: add one to put an existing organisation in a partner's scope."""

    list_display = ["partner", "org", "created_org", "created_at"]
    list_filter = ["partner"]
    fields = ["partner", "org"]
    autocomplete_fields = ["partner", "org"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        grant = services.partner_grant(partner=obj.partner, org=obj.org)
        obj.pk = grant.pk


@admin.register(PartnerApiKey)
class PartnerApiKeyAdmin(admin.ModelAdmin):
    list_display = ["partner", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["partner", "name", "prefix", "created_by", "created_at", "last_used_at"]
    exclude = ["hashed_key"]
    actions = ["revoke"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        for api_key in queryset:
            services.partner_key_revoke(api_key=api_key)


@admin.register(ConnectLink)
class ConnectLinkAdmin(admin.ModelAdmin):
    list_display = ["org", "partner", "created_at", "expires_at", "used_at", "used_by"]
    exclude = ["token_digest"]
    readonly_fields = ["org", "partner", "expires_at", "used_at", "used_by"]
