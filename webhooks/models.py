"""Signed webhooks (Standard Webhooks): endpoints, messages, deliveries and their attempts.

A message is one event, written once; a delivery is that message on its way to one endpoint; an
attempt is one HTTP POST of it, logged with the answer (Saleor's payload → delivery → attempt).
"""

import datetime
import secrets

from django.conf import settings
from django.db import models

from accounts.models import OrgScopedModel
from integrations.crypto import decrypt_json, encrypt_json

# An endpoint whose every attempt has failed for this long is disabled.
ENDPOINT_DISABLE_AFTER = datetime.timedelta(days=5)


class WebhookEventType(models.TextChoices):
    SYNC_COMPLETED = "sync.completed", "Sync completed"
    SYNC_FAILED = "sync.failed", "Sync failed"
    RECORD_FAILED = "record.failed", "Record failed"
    CONNECTION_STATUS_CHANGED = "connection.status_changed", "Connection status changed"


def new_message_id() -> str:
    # The `webhook-id` header: unique per message, the same on every retry, so receivers dedupe.
    return f"msg_{secrets.token_hex(16)}"


class WebhookEndpoint(OrgScopedModel):
    """A partner's URL that receives the events it subscribed to, signed with its own secret."""

    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True, default="")
    # Fernet token of {"secret": "whsec_…"}; read and written only through `secret`.
    secret_encrypted = models.TextField(editable=False)
    events = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=500, blank=True, default="")
    disabled_at = models.DateTimeField(null=True, blank=True)
    # Since when every attempt has failed (cleared by a success or by enabling it again).
    failing_since = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["org", "is_active"])]

    def __str__(self) -> str:
        return self.url

    @property
    def secret(self) -> str:
        return decrypt_json(self.secret_encrypted).get("secret", "")

    @secret.setter
    def secret(self, value: str) -> None:
        self.secret_encrypted = encrypt_json({"secret": value})

    @property
    def state(self) -> str:
        """active, failing (still sent to) or disabled: what the pages show."""
        if not self.is_active:
            return "disabled"
        return "failing" if self.failing_since else "active"

    @property
    def disables_at(self) -> datetime.datetime | None:
        """When it is disabled if every attempt keeps failing."""
        if not self.is_active or self.failing_since is None:
            return None
        return self.failing_since + ENDPOINT_DISABLE_AFTER

    @property
    def event_labels(self) -> list[str]:
        labels = dict(WebhookEventType.choices)
        return [labels.get(event, event) for event in self.events]


class WebhookMessage(OrgScopedModel):
    """One event as sent: its type and data; the body is rebuilt from them identically each time."""

    webhook_id = models.CharField(max_length=40, unique=True, default=new_message_id)
    event_type = models.CharField(max_length=40, choices=WebhookEventType.choices)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["org", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.event_type} {self.webhook_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCESS = "success", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(OrgScopedModel):
    """A message on its way to one endpoint: pending until a 2xx, failed when retries run out."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    message = models.ForeignKey(WebhookMessage, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempt_count = models.PositiveIntegerField(default=0)
    # When the next scheduled attempt is due (None: none scheduled).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A manual redelivery asked for and not yet sent, and by whom: a user, or else the label
    # of the API key that asked ("API key Partner ERP").
    redeliver_requested_at = models.DateTimeField(null=True, blank=True)
    redeliver_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    redeliver_requested_label = models.CharField(
        max_length=150, blank=True, default="", db_default=""
    )
    # The task queue did not take that redelivery's task (it was down): the sweep sends it.
    redeliver_left_to_sweep = models.BooleanField(default=False, db_default=False)
    # The worker sending it now holds it until then (a lease, not a transaction across HTTP).
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "message"], name="webhookdelivery_one_per_endpoint"
            ),
        ]
        indexes = [
            models.Index(fields=["endpoint", "-created_at"]),
            models.Index(fields=["org", "-created_at"]),
            models.Index(fields=["status", "next_attempt_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.message_id} → {self.endpoint_id}: {self.status}"


class WebhookDeliveryAttempt(models.Model):
    """One POST of a delivery: what the endpoint answered (or why nothing was sent)."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    manual = models.BooleanField(default=False)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Who asked for a manual attempt, when it was not a user: "API key Partner ERP".
    actor_label = models.CharField(max_length=150, blank=True, default="", db_default="")
    url = models.URLField(max_length=2000)
    success = models.BooleanField(default=False)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")
    duration_ms = models.PositiveIntegerField(default=0)
    attempted_at = models.DateTimeField()

    class Meta:
        ordering = ["-attempted_at", "-id"]
        indexes = [models.Index(fields=["delivery", "-attempted_at"])]

    def __str__(self) -> str:
        return f"Attempt of {self.delivery_id}: {self.status_code or self.error[:40]}"


class WebhookEndpointEventKind(models.TextChoices):
    SECRET_ROTATED = "secret_rotated", "Secret rotated"
    DELETED = "deleted", "Deleted"


class WebhookEndpointEvent(OrgScopedModel):
    """Audit of an endpoint: who rotated its secret or deleted it, and when; written in the
    transaction of the change. Kept after a delete (the endpoint link is cleared, its URL kept)."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.SET_NULL, null=True, blank=True, related_name="audit"
    )
    endpoint_url = models.URLField(max_length=2000)
    kind = models.CharField(max_length=16, choices=WebhookEndpointEventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Who, when it was not a signed-in user: "API key Expense app".
    actor_label = models.CharField(max_length=200, blank=True, default="")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["endpoint", "-at"]),
            models.Index(fields=["org", "kind", "-at"]),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint_url} {self.kind} at {self.at:%Y-%m-%d %H:%M}"

    @property
    def who(self) -> str:
        if self.actor_id:
            return self.actor.get_username()
        return self.actor_label or "someone no longer known"
