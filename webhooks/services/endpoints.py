"""Webhook endpoints: create, edit, enable and disable, rotate the secret, delete; each change
recorded as an endpoint event."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Organization
from webhooks import urlcheck
from webhooks.models import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEndpointEvent,
    WebhookEndpointEventKind,
    WebhookEventType,
)
from webhooks.services.signing import webhook_secret_generate


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
