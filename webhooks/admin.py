"""Admin for support agents: read what was sent and answered. Secrets are never shown."""

from django.contrib import admin

from webhooks.models import WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint, WebhookMessage


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "org", "is_active", "failing_since", "created_at"]
    list_filter = ["is_active", "org"]
    search_fields = ["url", "description", "org__name"]
    list_select_related = ["org"]
    # Read-only: a URL changed here would skip the address check, and enabling here would skip
    # the service (use the Webhooks page). secret_encrypted is never listed.
    fields = [
        "org",
        "url",
        "description",
        "events",
        "is_active",
        "disabled_reason",
        "disabled_at",
        "failing_since",
        "created_by",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields


@admin.register(WebhookMessage)
class WebhookMessageAdmin(admin.ModelAdmin):
    list_display = ["webhook_id", "event_type", "org", "created_at"]
    list_filter = ["event_type"]
    search_fields = ["webhook_id", "org__name"]
    list_select_related = ["org"]
    readonly_fields = ["org", "webhook_id", "event_type", "payload", "created_at"]


class AttemptInline(admin.TabularInline):
    model = WebhookDeliveryAttempt
    extra = 0
    fields = ["attempted_at", "manual", "status_code", "error", "duration_ms", "response_body"]
    readonly_fields = fields
    can_delete = False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["pk", "endpoint", "message", "status", "attempt_count", "next_attempt_at"]
    list_filter = ["status"]
    search_fields = ["message__webhook_id", "endpoint__url"]
    list_select_related = ["endpoint", "message"]
    raw_id_fields = ["endpoint", "message"]
    readonly_fields = ["org", "redeliver_requested_by", "created_at", "updated_at"]
    inlines = [AttemptInline]
