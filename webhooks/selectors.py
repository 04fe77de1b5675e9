"""Every read of the webhooks app, scoped to one organisation.

Another organisation's id is a 404, exactly like a missing one (Http404 from get_object_or_404).
"""

from django.db.models import Count, QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import Organization
from webhooks.models import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
    WebhookEndpointEvent,
    WebhookEndpointEventKind,
)


def webhook_endpoint_list(*, org: Organization) -> QuerySet[WebhookEndpoint]:
    """The organisation's webhook endpoints, newest first."""
    return WebhookEndpoint.objects.for_org(org)


def webhook_endpoint_get(*, org: Organization, endpoint_id: int) -> WebhookEndpoint:
    """One endpoint of the organisation; another organisation's id is a 404."""
    return get_object_or_404(WebhookEndpoint.objects.for_org(org), pk=endpoint_id)


def webhook_endpoints_needing_attention(*, org: Organization) -> QuerySet[WebhookEndpoint]:
    """Endpoints whose deliveries are failing, or that were disabled for it: the page's banner."""
    return WebhookEndpoint.objects.for_org(org).filter(failing_since__isnull=False)


def webhook_delivery_list(
    *,
    org: Organization,
    endpoint: WebhookEndpoint | None = None,
    status: str | None = None,
    event_type: str | None = None,
) -> QuerySet[WebhookDelivery]:
    """Deliveries, newest first, with their message and endpoint (no query per row)."""
    deliveries = WebhookDelivery.objects.for_org(org).select_related("message", "endpoint")
    if endpoint is not None:
        deliveries = deliveries.filter(endpoint=endpoint)
    if status in DeliveryStatus.values:
        deliveries = deliveries.filter(status=status)
    if event_type:
        deliveries = deliveries.filter(message__event_type=event_type)
    return deliveries


def webhook_delivery_get(
    *, org: Organization, delivery_id: int, endpoint: WebhookEndpoint | None = None
) -> WebhookDelivery:
    """One delivery of the organisation (of `endpoint`, when given) with its message and who
    asked for a redelivery; any other is a 404."""
    deliveries = WebhookDelivery.objects.for_org(org).select_related(
        "message", "endpoint", "redeliver_requested_by"
    )
    if endpoint is not None:
        deliveries = deliveries.filter(endpoint=endpoint)
    return get_object_or_404(deliveries, pk=delivery_id)


def webhook_delivery_attempt_list(*, delivery: WebhookDelivery) -> QuerySet[WebhookDeliveryAttempt]:
    """A delivery's attempts, newest first, with who asked for a manual one."""
    return WebhookDeliveryAttempt.objects.filter(delivery=delivery).select_related("actor")


def webhook_delivery_counts(*, endpoint: WebhookEndpoint) -> dict[str, int]:
    """How many of the endpoint's deliveries are in each status (one query)."""
    counts = {status: 0 for status in DeliveryStatus.values}
    for row in (
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .values("status")
        .annotate(n=Count("id"))
        .order_by()
    ):
        counts[row["status"]] = row["n"]
    return counts


__all__ = [
    "webhook_endpoint_list",
    "webhook_endpoint_get",
    "webhook_endpoints_needing_attention",
    "webhook_delivery_list",
    "webhook_delivery_get",
    "webhook_delivery_attempt_list",
    "webhook_delivery_counts",
]


def webhook_endpoint_event_list(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookEndpointEvent]:
    """Who rotated the endpoint's secret (and other audited changes), newest first."""
    return WebhookEndpointEvent.objects.filter(endpoint=endpoint).select_related("actor")


def webhook_endpoints_deleted(*, org: Organization, limit: int = 10) -> list[WebhookEndpointEvent]:
    """The organisation's last deleted endpoints: which URL, who, when."""
    return list(
        WebhookEndpointEvent.objects.for_org(org)
        .filter(kind=WebhookEndpointEventKind.DELETED)
        .select_related("actor")[:limit]
    )
