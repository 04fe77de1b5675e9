"""Every write of the webhooks app: endpoints, emitting events, sending and retrying deliveries.

Public surface (keyword-only arguments):

- ``webhook_endpoint_create(org, url, events, description, actor)`` → ``(endpoint, secret)``; the
  secret (``whsec_…``) is returned once and stored encrypted.
- ``webhook_endpoint_update(endpoint, actor, url=…, events=…, description=…, is_active=…)``,
  ``webhook_endpoint_enable`` / ``webhook_endpoint_disable``, ``webhook_endpoint_secret_rotate``
  (→ the new secret), ``webhook_endpoint_delete``. Bad input raises Django's ValidationError with
  a ``message_dict`` keyed by field (``url``, ``events``, ``description``).
- ``webhook_event_emit(org, event_type, payload)`` → the deliveries, one per active endpoint of
  that organisation subscribed to the event; called inside the caller's transaction, sent after
  it commits. ``webhook_emit_run_finished(run)`` and ``webhook_emit_record_failed(record)`` build
  the payload (webhooks.payloads) and emit.
- ``webhook_delivery_redeliver(delivery, actor)``: one more attempt, now.
- ``webhook_delivery_send(delivery_id)``: the Celery task's body (webhooks.tasks.webhook_deliver).
- ``webhook_deliveries_sweep()``: re-enqueues deliveries whose task was lost (beat).

Delivery follows Svix's schedule: at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h after
each failure; after the eighth failure the delivery is failed. Any answer but a 2xx is a failure
(4xx too: a receiver that is being deployed answers 404 for a while). An endpoint whose attempts
have all failed for five days is disabled and its owner told on the webhooks page.
"""

import base64
import dataclasses
import datetime
import json
import secrets
import time

import httpx
import standardwebhooks
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization
from webhooks import urlcheck
from webhooks.models import (
    ENDPOINT_DISABLE_AFTER,
    DeliveryStatus,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
    WebhookEndpointEvent,
    WebhookEndpointEventKind,
    WebhookEventType,
    WebhookMessage,
)

# Delay before attempt n+1 (n = automatic attempts made so far): Svix's schedule.
RETRY_SCHEDULE_SECONDS: tuple[int, ...] = (
    0,
    5,
    5 * 60,
    30 * 60,
    2 * 3600,
    5 * 3600,
    10 * 3600,
    10 * 3600,
)
DISABLE_AFTER = ENDPOINT_DISABLE_AFTER
HTTP_TIMEOUT_SECONDS = 10.0
RESPONSE_BODY_LIMIT = 2000
# A worker sending a delivery holds it this long; a crash frees it for the sweep.
SEND_LEASE = datetime.timedelta(seconds=60)
# The sweep leaves a task this long to start before it sends another.
SWEEP_GRACE = datetime.timedelta(seconds=60)
QUEUE = "sync"
USER_AGENT = "ledgersync-webhooks/1.0"
SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24


# --- secrets and signing -------------------------------------------------------------------------


def webhook_secret_generate() -> str:
    """A new endpoint signing secret, `whsec_` and 24 random bytes in base64 (Standard Webhooks)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def webhook_message_body(message: WebhookMessage) -> bytes:
    """The JSON body of a message, the same bytes on every attempt (Standard Webhooks envelope)."""
    envelope = {
        "type": message.event_type,
        "timestamp": message.created_at.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z"),
        "data": message.payload,
    }
    return json.dumps(envelope, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def webhook_signature_headers(
    *, secret: str, webhook_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """The webhook-id, webhook-timestamp and webhook-signature headers of one attempt."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = standardwebhooks.Webhook(secret).sign(
        webhook_id, datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC), body.decode()
    )
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }


# --- endpoints -----------------------------------------------------------------------------------


def _clean_events(events) -> list[str]:
    known = set(WebhookEventType.values)
    events = list(dict.fromkeys(events or []))
    unknown = [event for event in events if event not in known]
    if unknown:
        raise ValidationError({"events": [f"Unknown event type: {', '.join(map(str, unknown))}."]})
    if not events:
        raise ValidationError({"events": ["Choose at least one event to receive."]})
    # Stored in the catalogue's order, so pages and the API list them the same way.
    return [event for event in WebhookEventType.values if event in events]


def _clean_description(description: str | None) -> str:
    description = (description or "").strip()
    if len(description) > 200:
        raise ValidationError({"description": ["Use at most 200 characters."]})
    return description


def webhook_endpoint_create(
    *,
    org: Organization,
    url: str,
    events,
    description: str = "",
    actor=None,
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret; the secret is shown to the user this once."""
    errors = {}
    cleaned = {}
    for field, clean in (
        ("url", lambda: urlcheck.webhook_url_validate(url)),
        ("events", lambda: _clean_events(events)),
        ("description", lambda: _clean_description(description)),
    ):
        try:
            cleaned[field] = clean()
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    secret = webhook_secret_generate()
    endpoint = WebhookEndpoint(
        org=org,
        url=cleaned["url"],
        events=cleaned["events"],
        description=cleaned["description"],
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    endpoint.secret = secret
    endpoint.save()
    return endpoint, secret


def webhook_endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    actor=None,
    url: str | None = None,
    events=None,
    description: str | None = None,
    is_active: bool | None = None,
) -> WebhookEndpoint:
    """Change what is given (None leaves a field as it is); pending deliveries go to the new URL."""
    errors = {}
    changes = {}
    if url is not None:
        try:
            changes["url"] = urlcheck.webhook_url_validate(url)
        except ValidationError as error:
            errors.update(error.message_dict)
    if events is not None:
        try:
            changes["events"] = _clean_events(events)
        except ValidationError as error:
            errors.update(error.message_dict)
    if description is not None:
        try:
            changes["description"] = _clean_description(description)
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        for field, value in changes.items():
            setattr(endpoint, field, value)
        if changes:
            endpoint.save(update_fields=[*changes, "updated_at"])
        if is_active is True and not endpoint.is_active:
            webhook_endpoint_enable(endpoint=endpoint, actor=actor)
        elif is_active is False and endpoint.is_active:
            webhook_endpoint_disable(endpoint=endpoint, actor=actor)
    return endpoint


def _disable(endpoint: WebhookEndpoint, *, reason: str, now: datetime.datetime) -> None:
    endpoint.is_active = False
    endpoint.disabled_reason = reason[:500]
    endpoint.disabled_at = now
    endpoint.save(update_fields=["is_active", "disabled_reason", "disabled_at", "updated_at"])
    # Nothing more is sent to it: its waiting deliveries end now (and can be redelivered later).
    WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.FAILED,
        next_attempt_at=None,
        last_error="Not sent: the endpoint was disabled.",
        updated_at=now,
    )


def webhook_endpoint_disable(*, endpoint: WebhookEndpoint, actor=None) -> WebhookEndpoint:
    """Stop sending to the endpoint, saying who did; already disabled, nothing changes."""
    if not endpoint.is_active:
        return endpoint
    who = f" by {actor}" if getattr(actor, "is_authenticated", False) else ""
    with transaction.atomic():
        _disable(endpoint, reason=f"Disabled{who}.", now=timezone.now())
    return endpoint


def webhook_endpoint_enable(*, endpoint: WebhookEndpoint, actor=None) -> WebhookEndpoint:
    """Enable again; the five days of failure count afresh from the next failed attempt."""
    endpoint.is_active = True
    endpoint.disabled_reason = ""
    endpoint.disabled_at = None
    endpoint.failing_since = None
    endpoint.save(
        update_fields=["is_active", "disabled_reason", "disabled_at", "failing_since", "updated_at"]
    )
    return endpoint


def _endpoint_event(*, endpoint: WebhookEndpoint, kind: str, actor, actor_label: str) -> None:
    """The audit row of a change, in the caller's transaction."""
    WebhookEndpointEvent.objects.create(
        org_id=endpoint.org_id,
        endpoint=endpoint,
        endpoint_url=endpoint.url,
        kind=kind,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_label=actor_label[:200],
    )


def webhook_endpoint_secret_rotate(
    *, endpoint: WebhookEndpoint, actor=None, actor_label: str = ""
) -> str:
    """A new secret, in force at once for every later attempt; shown to the user this once.
    Audited with who and when (`actor`, or `actor_label` for an API key)."""
    secret = webhook_secret_generate()
    with transaction.atomic():
        endpoint.secret = secret
        endpoint.save(update_fields=["secret_encrypted", "updated_at"])
        _endpoint_event(
            endpoint=endpoint,
            kind=WebhookEndpointEventKind.SECRET_ROTATED,
            actor=actor,
            actor_label=actor_label,
        )
    return secret


def webhook_endpoint_delete(
    *, endpoint: WebhookEndpoint, actor=None, actor_label: str = ""
) -> None:
    """Delete the endpoint with its deliveries and their log; messages of other endpoints stay.
    The audit row stays too, with the endpoint's URL."""
    with transaction.atomic():
        _endpoint_event(
            endpoint=endpoint,
            kind=WebhookEndpointEventKind.DELETED,
            actor=actor,
            actor_label=actor_label,
        )
        endpoint.delete()


# --- emitting events -----------------------------------------------------------------------------


def _enqueue(delivery_ids: list[int], *, countdown: float = 0) -> None:
    if not delivery_ids:
        return

    def send():
        from webhooks.tasks import webhook_deliver

        for delivery_id in delivery_ids:
            webhook_deliver.apply_async(args=[delivery_id], countdown=countdown, queue=QUEUE)

    transaction.on_commit(send)


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


# --- redelivery ----------------------------------------------------------------------------------


def webhook_delivery_redeliver(*, delivery: WebhookDelivery, actor=None) -> WebhookDelivery:
    """Send the message to its endpoint once more, now (a manual attempt, logged with who).

    A delivery still in its retry schedule keeps it; otherwise the attempt decides the status.
    """
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint")
            .get(pk=delivery.pk)
        )
        if not delivery.endpoint.is_active:
            raise ValidationError("The endpoint is disabled: enable it before redelivering.")
        delivery.redeliver_requested_at = timezone.now()
        delivery.redeliver_requested_by = (
            actor if getattr(actor, "is_authenticated", False) else None
        )
        delivery.save(
            update_fields=["redeliver_requested_at", "redeliver_requested_by", "updated_at"]
        )
    _enqueue([delivery.pk])
    return delivery


# --- sending -------------------------------------------------------------------------------------


@dataclasses.dataclass
class _PostResult:
    status_code: int | None = None
    response_body: str = ""
    error: str = ""
    duration_ms: int = 0

    @property
    def success(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _read_limited(response: httpx.Response) -> str:
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= RESPONSE_BODY_LIMIT:
            break
    return b"".join(chunks)[:RESPONSE_BODY_LIMIT].decode("utf-8", errors="replace")


def _post(url: str, body: bytes, headers: dict[str, str]) -> _PostResult:
    """POST to the address that was checked (no redirects, explicit timeouts)."""
    started = time.monotonic()
    result = _PostResult()
    # Checked again now, not only when saved: the host's addresses may have changed since.
    try:
        _scheme, host, port = urlcheck.url_parts(url)
    except ValueError:
        result.error = "Not sent: the URL is not valid."
        return result
    try:
        addresses = urlcheck.resolve_host(host, port)
    except (OSError, UnicodeError):
        result.error = f"Not sent: {host} could not be resolved."
        return result
    try:
        urlcheck.check_addresses(host, addresses)
    except ValueError as error:
        result.error = f"Not sent: {error}"
        return result
    target = httpx.URL(url)
    request_headers = {
        **headers,
        "Host": target.netloc.decode("ascii"),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    with httpx.Client(
        timeout=httpx.Timeout(HTTP_TIMEOUT_SECONDS),
        follow_redirects=False,
        trust_env=False,  # no proxy from the environment: it would bypass the address check
    ) as client:
        for address in addresses:
            try:
                with client.stream(
                    "POST",
                    target.copy_with(host=address),
                    content=body,
                    headers=request_headers,
                    extensions={"sni_hostname": host},
                ) as response:
                    result.status_code = response.status_code
                    result.response_body = _read_limited(response)
                result.error = ""
                break
            except httpx.ConnectError as error:
                # Nothing was sent: the host's next address may answer.
                result.error = f"Could not connect to {host}: {error}"
            except httpx.TimeoutException:
                result.error = f"No answer within {HTTP_TIMEOUT_SECONDS:g} seconds."
                break
            except httpx.HTTPError as error:
                result.error = f"{type(error).__name__}: {error}"
                break
    result.duration_ms = int((time.monotonic() - started) * 1000)
    if result.status_code is not None and not result.success:
        result.error = f"The endpoint answered HTTP {result.status_code}."
    return result


def _claim(delivery_id: int) -> tuple[WebhookDelivery, bool, int | None] | None:
    """Take the delivery for one attempt if one is due; None when there is nothing to do."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint", "message")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or (delivery.claimed_until and delivery.claimed_until > now):
            return None
        manual = delivery.redeliver_requested_at is not None
        due = (
            delivery.status == DeliveryStatus.PENDING
            and delivery.next_attempt_at is not None
            and delivery.next_attempt_at <= now
        )
        if not (manual or due):
            return None  # a duplicate or early task: the schedule has its own
        actor_id = delivery.redeliver_requested_by_id if manual else None
        delivery.redeliver_requested_at = None
        delivery.redeliver_requested_by = None
        if not delivery.endpoint.is_active:
            if due:
                delivery.status = DeliveryStatus.FAILED
                delivery.next_attempt_at = None
                delivery.last_error = "Not sent: the endpoint is disabled."
            delivery.save()
            return None
        delivery.claimed_until = now + SEND_LEASE
        delivery.save(
            update_fields=[
                "claimed_until",
                "redeliver_requested_at",
                "redeliver_requested_by",
                "updated_at",
            ]
        )
    return delivery, manual, actor_id


def webhook_delivery_send(*, delivery_id: int) -> WebhookDeliveryAttempt | None:
    """One attempt of a delivery, if one is due (the task's body; safe to run twice).

    Logs the attempt, then ends the delivery (2xx), schedules the next attempt, or fails it when
    the schedule is spent; tracks how long the endpoint has been failing and disables it after
    five days of nothing but failures.
    """
    claimed = _claim(delivery_id)
    if claimed is None:
        return None
    delivery, manual, actor_id = claimed
    endpoint, message = delivery.endpoint, delivery.message
    body = webhook_message_body(message)
    headers = webhook_signature_headers(
        secret=endpoint.secret, webhook_id=message.webhook_id, body=body
    )
    attempted_at = timezone.now()
    result = _post(endpoint.url, body, headers)

    with transaction.atomic():
        # Endpoint before delivery, always: disabling an endpoint updates its deliveries.
        endpoint = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint.pk).first()
        delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery.pk).first()
        if endpoint is None or delivery is None:
            return None  # deleted while we were sending
        attempt = WebhookDeliveryAttempt.objects.create(
            delivery=delivery,
            manual=manual,
            actor_id=actor_id,
            url=endpoint.url,
            success=result.success,
            status_code=result.status_code,
            response_body=result.response_body,
            error=result.error[:2000],
            duration_ms=result.duration_ms,
            attempted_at=attempted_at,
        )
        delivery.attempt_count += 1
        delivery.last_attempt_at = attempted_at
        delivery.last_status_code = result.status_code
        delivery.last_error = result.error[:2000]
        delivery.claimed_until = None
        if result.success:
            delivery.status = DeliveryStatus.SUCCESS
            delivery.next_attempt_at = None
            if endpoint.failing_since is not None:
                endpoint.failing_since = None
                endpoint.save(update_fields=["failing_since", "updated_at"])
        else:
            if not manual:
                made = delivery.attempts.filter(manual=False).count()
                if made < len(RETRY_SCHEDULE_SECONDS):
                    delivery.status = DeliveryStatus.PENDING
                    delivery.next_attempt_at = attempted_at + datetime.timedelta(
                        seconds=RETRY_SCHEDULE_SECONDS[made]
                    )
                else:
                    delivery.status = DeliveryStatus.FAILED
                    delivery.next_attempt_at = None
            elif delivery.status != DeliveryStatus.PENDING:
                # A manual attempt outside the schedule: it fails on its own.
                delivery.status = DeliveryStatus.FAILED
            _endpoint_failed(endpoint, at=attempted_at, error=result.error)
        delivery.save()
        if not endpoint.is_active:
            # Disabled by this failure (or meanwhile): this delivery ends here too.
            _stop_for_disabled_endpoint(delivery)
        if delivery.redeliver_requested_at is not None:
            # Asked for while this attempt was on the wire: its task found the delivery busy.
            _enqueue([delivery.pk])
        elif delivery.status == DeliveryStatus.PENDING and delivery.next_attempt_at:
            wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
            _enqueue([delivery.pk], countdown=max(0.0, wait))
    return attempt


def _endpoint_failed(endpoint: WebhookEndpoint, *, at: datetime.datetime, error: str) -> None:
    if endpoint.failing_since is None:
        endpoint.failing_since = at
        endpoint.save(update_fields=["failing_since", "updated_at"])
        return
    if endpoint.is_active and at - endpoint.failing_since >= DISABLE_AFTER:
        since = timezone.localtime(endpoint.failing_since).strftime("%Y-%m-%d %H:%M %Z")
        _disable(
            endpoint,
            reason=(
                f"Disabled automatically: every delivery has failed since {since} "
                f"(over {DISABLE_AFTER.days} days). Last error: {error}"
            ),
            now=at,
        )


def _stop_for_disabled_endpoint(delivery: WebhookDelivery) -> None:
    if delivery.status == DeliveryStatus.PENDING:
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
        delivery.save(update_fields=["status", "next_attempt_at", "updated_at"])


def webhook_deliveries_sweep(*, now: datetime.datetime | None = None) -> int:
    """Enqueue deliveries that are overdue and not being sent: their task was lost.

    Brokers lose messages on restart, and long countdowns may be dropped; the delivery rows are
    the truth, so a beat task runs this and a duplicate task is harmless (the claim checks).
    """
    now = now or timezone.now()
    overdue = list(
        WebhookDelivery.objects.filter(
            status=DeliveryStatus.PENDING, next_attempt_at__lte=now - SWEEP_GRACE
        )
        .exclude(claimed_until__gt=now)
        .values_list("pk", flat=True)[:5000]
    )
    manual = list(
        WebhookDelivery.objects.filter(redeliver_requested_at__lte=now - SWEEP_GRACE)
        .exclude(claimed_until__gt=now)
        .values_list("pk", flat=True)[:5000]
    )
    ids = list(dict.fromkeys(overdue + manual))
    _enqueue(ids)
    return len(ids)


__all__ = [
    "RETRY_SCHEDULE_SECONDS",
    "DISABLE_AFTER",
    "webhook_secret_generate",
    "webhook_message_body",
    "webhook_signature_headers",
    "webhook_endpoint_create",
    "webhook_endpoint_update",
    "webhook_endpoint_enable",
    "webhook_endpoint_disable",
    "webhook_endpoint_secret_rotate",
    "webhook_endpoint_delete",
    "webhook_event_emit",
    "webhook_emit_run_finished",
    "webhook_emit_record_failed",
    "webhook_emit_records_failed",
    "webhook_delivery_redeliver",
    "webhook_delivery_send",
    "webhook_deliveries_sweep",
]
