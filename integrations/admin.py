"""Admin for support agents. Credentials are never shown: the encrypted field is not editable."""

from django.contrib import admin

from integrations.models import Connection, ConnectionEvent, Mapping


class MappingInline(admin.TabularInline):
    model = Mapping
    extra = 0
    fields = ["kind", "local_id", "external_id", "external_name", "updated_at"]
    readonly_fields = fields


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "org",
        "provider",
        "status",
        "tenant_name",
        "base_url",
        "last_checked_at",
        "connected_at",
    ]
    list_filter = ["provider", "status", "org"]
    search_fields = ["name", "tenant_name", "tenant_id", "org__name"]
    list_select_related = ["org"]
    readonly_fields = [
        "org",
        "provider",
        "tenant_id",
        "tenant_name",
        "base_url",
        "has_credentials",
        "last_checked_at",
        "last_error",
        "connected_by",
        "connected_at",
        "created_at",
        "updated_at",
    ]
    fields = ["name", "status", "settings", *readonly_fields]
    inlines = [MappingInline]

    @admin.display(boolean=True)
    def has_credentials(self, connection):
        return connection.has_credentials

    def has_add_permission(self, request):
        # Connections are made through the OAuth flow on the Integrations page.
        return False


@admin.register(Mapping)
class MappingAdmin(admin.ModelAdmin):
    list_display = ["connection", "kind", "local_id", "external_name", "external_id", "updated_at"]
    list_filter = ["kind", "connection__provider"]
    search_fields = ["external_name", "external_id", "connection__name"]
    list_select_related = ["connection"]


@admin.register(ConnectionEvent)
class ConnectionEventAdmin(admin.ModelAdmin):
    """The audit trail of connections: read only, as an audit record must be."""

    list_display = ["at", "connection", "kind", "actor", "note"]
    list_filter = ["kind", "connection__org"]
    search_fields = ["connection__name", "connection__org__name", "actor__username", "note"]
    list_select_related = ["connection", "actor"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
