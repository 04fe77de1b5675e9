"""webhook_event_emit: one delivery per subscribed active endpoint of that organisation, sent
after the caller's transaction commits."""

import pytest
from django.db import transaction

from tests.factories import OrganizationFactory
from webhooks import services
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookMessage


@pytest.fixture
def endpoints(org, other_org, allow_private, make_endpoint):
    completed, _ = make_endpoint("http://127.0.0.1:9/a", events=["sync.completed"])
    everything, _ = make_endpoint("http://127.0.0.1:9/b")
    failures_only, _ = make_endpoint("http://127.0.0.1:9/c", events=["record.failed"])
    disabled, _ = make_endpoint("http://127.0.0.1:9/d", events=["sync.completed"])
    services.webhook_endpoint_disable(endpoint=disabled)
    other, _ = make_endpoint("http://127.0.0.1:9/e", owner=other_org)
    return {
        "completed": completed,
        "everything": everything,
        "failures_only": failures_only,
        "disabled": disabled,
        "other": other,
    }


def test_one_delivery_per_subscribed_active_endpoint_of_that_org_only(
    org, endpoints, webhook_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        deliveries = services.webhook_event_emit(
            org=org, event_type="sync.completed", payload={"id": "run-1"}
        )
        # Nothing is sent before the caller's transaction commits.
        assert webhook_tasks == []
    assert len(callbacks) == 1
    assert {d.endpoint for d in deliveries} == {endpoints["completed"], endpoints["everything"]}
    assert all(d.status == DeliveryStatus.PENDING and d.org == org for d in deliveries)
    message = WebhookMessage.objects.get()
    assert (message.org, message.event_type, message.payload) == (
        org,
        "sync.completed",
        {"id": "run-1"},
    )
    assert message.webhook_id.startswith("msg_")
    assert sorted(webhook_tasks) == sorted((d.pk, 0, "sync") for d in deliveries)


def test_other_events_reach_their_subscribers(org, endpoints, webhook_tasks):
    deliveries = services.webhook_event_emit(
        org=org, event_type="record.failed", payload={"record_id": 1}
    )
    assert {d.endpoint for d in deliveries} == {
        endpoints["everything"],
        endpoints["failures_only"],
    }


def test_no_subscriber_writes_nothing(other_org, endpoints, webhook_tasks):
    lonely = OrganizationFactory()
    assert services.webhook_event_emit(org=lonely, event_type="sync.failed", payload={}) == []
    assert not WebhookMessage.objects.exists()


def test_a_rolled_back_change_sends_nothing(
    org, endpoints, webhook_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                services.webhook_event_emit(org=org, event_type="sync.completed", payload={})
                raise RuntimeError("the engine's transaction failed")
        except RuntimeError:
            pass
    assert not WebhookDelivery.objects.exists()
    assert not WebhookMessage.objects.exists()
    assert webhook_tasks == []


def test_an_unknown_event_type_is_a_programming_error(org, endpoints):
    with pytest.raises(ValueError):
        services.webhook_event_emit(org=org, event_type="sync.exploded", payload={})
