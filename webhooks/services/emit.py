"""Emitting events: one delivery per active endpoint subscribed, sent once the caller commits."""

import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEventType, WebhookMessage
from webhooks.services.delivery import _enqueue


def webhook_event_emit(
    *, org: Organization, event_type: str, payload: dict
) -> list[WebhookDelivery]:
    """One message and a delivery to each active endpoint of `org` subscribed to `event_type`.

    Called in the caller's transaction: the rows commit (or roll back) with the change they
    report, and the first attempts are enqueued only after the commit. No subscriber, no rows.
    """
    if event_type not in WebhookEventType.values:
        raise ValueError(f"Unknown webhook event type {event_type!r}")
    endpoints = list(
        WebhookEndpoint.objects.for_org(org).filter(is_active=True, events__contains=[event_type])
    )
    if not endpoints:
        return []
    # Plain JSON now (dates, decimals, UUIDs as strings), so the body never changes after.
    payload = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    now = timezone.now()
    with transaction.atomic():
        message = WebhookMessage.objects.create(org=org, event_type=event_type, payload=payload)
        deliveries = WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(org=org, endpoint=endpoint, message=message, next_attempt_at=now)
                for endpoint in endpoints
            ]
        )
    _enqueue([delivery.pk for delivery in deliveries])
    return deliveries


def webhook_emit_run_finished(*, run) -> list[WebhookDelivery]:
    """sync.completed (2xxx) or sync.failed (any other final code) for a finished SyncRun."""
    from webhooks.payloads import webhook_event_type_for_run, webhook_payload_for_run

    event_type = webhook_event_type_for_run(run)
    payload = webhook_payload_for_run(run)
    if event_type == WebhookEventType.SYNC_FAILED:
        from webhooks.payloads import webhook_failed_transactions

        payload.update(webhook_failed_transactions(run))
    return webhook_event_emit(org=run.org, event_type=event_type, payload=payload)


def webhook_emit_connection_status_changed(
    *, connection, previous: str | None
) -> list[WebhookDelivery]:
    """connection.status_changed, when a connection's status has just changed."""
    from webhooks.payloads import webhook_payload_for_connection_status

    if previous == connection.status:
        return []
    return webhook_event_emit(
        org=connection.org,
        event_type=WebhookEventType.CONNECTION_STATUS_CHANGED,
        payload=webhook_payload_for_connection_status(connection, previous=previous),
    )


def webhook_emit_record_failed(*, record) -> list[WebhookDelivery]:
    """record.failed for a SyncRecord that has just become Failed (its error as stored now)."""
    return webhook_emit_records_failed(records=[record])


def webhook_emit_records_failed(*, records) -> list[WebhookDelivery]:
    """record.failed for each SyncRecord that has just become Failed. A failing batch asks once
    whether anybody subscribes, and reads its records in one query."""
    from synclog.models import SyncRecord
    from webhooks.payloads import webhook_payload_for_record

    records = list(records)
    if not records:
        return []  # every batch that ends asks: most fail nothing
    subscribed = set(
        WebhookEndpoint.objects.filter(
            org_id__in={record.org_id for record in records}, is_active=True
        ).values_list("org_id", flat=True)
    )
    wanted = [record.pk for record in records if record.org_id in subscribed]
    if not wanted:
        return []
    # Read the rows as they are now: the engine writes the error with an UPDATE, not on the object.
    deliveries = []
    for record in (
        SyncRecord.objects.select_related("document", "connection", "run", "org")
        .filter(pk__in=wanted)
        .order_by("pk")
    ):
        deliveries += webhook_event_emit(
            org=record.org,
            event_type=WebhookEventType.RECORD_FAILED,
            payload=webhook_payload_for_record(record),
        )
    return deliveries
