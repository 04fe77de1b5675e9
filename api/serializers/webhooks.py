"""Webhook endpoints (the secret only once, on creation or rotation) and their deliveries."""

import math

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from webhooks.models import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
    WebhookEventType,
)

EVENTS_HELP = (
    "sync.completed, sync.failed, record.failed, connection.status_changed (at least one)."
)


class WebhookEndpointSerializer(serializers.ModelSerializer):
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEventType.choices), help_text=EVENTS_HELP
    )
    state = serializers.ChoiceField(
        choices=[("active", "Active"), ("failing", "Failing"), ("disabled", "Disabled")],
        help_text="failing: deliveries fail (still sent to; disabled at `disables_at` if it "
        "goes on); disabled: nothing is sent (see `disabled_reason`).",
    )
    disables_at = serializers.DateTimeField(allow_null=True)

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "events",
            "is_active",
            "state",
            "failing_since",
            "disables_at",
            "disabled_reason",
            "disabled_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(
        help_text="The signing secret (whsec_…), shown this once: store it to verify signatures."
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointCreateSerializer(serializers.Serializer):
    url = serializers.URLField(
        max_length=2000,
        help_text="HTTPS URL that receives the events (private and loopback addresses are "
        "refused outside development).",
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEventType.choices),
        min_length=1,
        max_length=10,
        help_text=EVENTS_HELP,
    )
    description = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )


class WebhookEndpointUpdateSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=2000, required=False)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEventType.choices),
        min_length=1,
        max_length=10,
        required=False,
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    is_active = serializers.BooleanField(
        required=False, help_text="false disables it; true enables it again."
    )


class WebhookSecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="The new signing secret, shown this once.")


class WebhookDeliverySerializer(serializers.ModelSerializer):
    webhook_id = serializers.CharField(
        source="message.webhook_id", help_text="The `webhook-id` header: dedupe on it."
    )
    event_type = serializers.ChoiceField(
        source="message.event_type", choices=WebhookEventType.choices
    )
    status = serializers.ChoiceField(choices=DeliveryStatus.choices)
    endpoint = serializers.IntegerField(source="endpoint_id")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "webhook_id",
            "event_type",
            "status",
            "attempt_count",
            "next_attempt_at",
            "last_attempt_at",
            "last_status_code",
            "last_error",
            "created_at",
        ]
        read_only_fields = fields


class WebhookRedeliverySerializer(WebhookDeliverySerializer):
    """The delivery, and whether its redelivery went to the task queue or waits for the sweep
    (the `redelivery` in the context: webhooks.services.Redelivery)."""

    queued = serializers.SerializerMethodField(
        help_text="true: the task queue took the redelivery, and the attempt follows within "
        "seconds. false: the queue is unavailable; the redelivery is saved, and the periodic "
        "sweep sends it once the queue answers again (see `sweep_within_seconds`)."
    )
    sweep_within_seconds = serializers.SerializerMethodField(
        help_text="When `queued` is false: the longest the saved redelivery waits for the sweep "
        "once the queue answers again. null when queued."
    )

    class Meta(WebhookDeliverySerializer.Meta):
        fields = [*WebhookDeliverySerializer.Meta.fields, "queued", "sweep_within_seconds"]
        read_only_fields = fields

    def get_queued(self, delivery) -> bool:
        # Not left to the sweep: taken by the broker (a view's request commits at once, so the
        # broker has answered by now).
        return not self.context["redelivery"].left_to_sweep

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_sweep_within_seconds(self, delivery) -> int | None:
        redelivery = self.context["redelivery"]
        if not redelivery.left_to_sweep:
            return None
        return math.ceil(redelivery.sweep_within.total_seconds())


class WebhookDeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDeliveryAttempt
        fields = [
            "id",
            "manual",
            "url",
            "success",
            "status_code",
            "response_body",
            "error",
            "duration_ms",
            "attempted_at",
        ]
        read_only_fields = fields


class WebhookDeliveryDetailSerializer(WebhookDeliverySerializer):
    payload = serializers.JSONField(source="message.payload", help_text="The event's `data`.")
    attempts = serializers.SerializerMethodField()

    class Meta(WebhookDeliverySerializer.Meta):
        fields = [*WebhookDeliverySerializer.Meta.fields, "payload", "attempts"]
        read_only_fields = fields

    @extend_schema_field(WebhookDeliveryAttemptSerializer(many=True))
    def get_attempts(self, delivery) -> list:
        return WebhookDeliveryAttemptSerializer(self.context["attempts"], many=True).data
