"""Endpoints over time: failing, disabled after five days of failures, enabled again; manual
redelivery; secret rotation; update and delete."""

import datetime

import pytest
import standardwebhooks
from django.core.exceptions import ValidationError
from django.utils import timezone

from tests.webhooks.conftest import run_due
from webhooks import services
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookMessage


@pytest.fixture
def endpoint(allow_private, receiver, make_endpoint):
    endpoint, _secret = make_endpoint(receiver.url())
    return endpoint


def emit(org, event_type="sync.failed"):
    [delivery] = services.webhook_event_emit(org=org, event_type=event_type, payload={"id": "r"})
    return delivery


def test_the_first_failure_marks_the_endpoint_failing(org, endpoint, receiver, webhook_tasks):
    receiver.status = 500
    delivery = emit(org)
    attempt = services.webhook_delivery_send(delivery_id=delivery.pk)
    endpoint.refresh_from_db()
    assert endpoint.failing_since == attempt.attempted_at
    assert endpoint.is_active
    assert endpoint.state == "failing"
    assert endpoint.disables_at == attempt.attempted_at + datetime.timedelta(days=5)


def test_an_endpoint_failing_for_five_days_is_disabled_at_its_next_failure(
    org, endpoint, receiver, webhook_tasks
):
    receiver.status = 502
    five_days_ago = timezone.now() - datetime.timedelta(days=5, minutes=1)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=five_days_ago)
    waiting = emit(org, "sync.completed")  # another delivery, still waiting for its turn
    delivery = emit(org)

    services.webhook_delivery_send(delivery_id=delivery.pk)

    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert endpoint.state == "disabled"
    assert endpoint.disabled_at is not None
    assert endpoint.disabled_reason.startswith("Disabled automatically: every delivery has failed")
    assert "HTTP 502" in endpoint.disabled_reason
    assert endpoint.failing_since == five_days_ago  # kept: the page says since when
    for row in (delivery, waiting):
        row.refresh_from_db()
        assert row.status == DeliveryStatus.FAILED
        assert row.next_attempt_at is None
    # Nothing more is sent to it: not the waiting one, not new events.
    assert services.webhook_delivery_send(delivery_id=waiting.pk) is None
    assert services.webhook_event_emit(org=org, event_type="sync.failed", payload={}) == []
    assert len(receiver.requests) == 1


def test_four_days_of_failures_do_not_disable(org, endpoint, receiver, webhook_tasks):
    receiver.status = 500
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - datetime.timedelta(days=4, hours=23)
    )
    services.webhook_delivery_send(delivery_id=emit(org).pk)
    endpoint.refresh_from_db()
    assert endpoint.is_active


def test_enabling_again_clears_the_failure_clock(org, endpoint, receiver, webhook_tasks):
    services.webhook_endpoint_disable(endpoint=endpoint)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - datetime.timedelta(days=6),
        disabled_reason="Disabled automatically: …",
    )
    endpoint.refresh_from_db()

    services.webhook_endpoint_enable(endpoint=endpoint)

    endpoint.refresh_from_db()
    assert endpoint.is_active
    assert (endpoint.failing_since, endpoint.disabled_reason, endpoint.disabled_at) == (
        None,
        "",
        None,
    )
    assert len(services.webhook_event_emit(org=org, event_type="sync.failed", payload={})) == 1


def test_a_manual_disable_stops_waiting_deliveries(org, endpoint, admin_user, webhook_tasks):
    delivery = emit(org)
    services.webhook_endpoint_disable(endpoint=endpoint, actor=admin_user)
    endpoint.refresh_from_db()
    assert endpoint.disabled_reason == f"Disabled by {admin_user}."
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.last_error == "Not sent: the endpoint was disabled."


def test_redelivery_makes_a_new_attempt_now_logged_with_who(
    org, endpoint, receiver, admin_user, webhook_tasks, django_capture_on_commit_callbacks
):
    receiver.status = 500
    delivery = emit(org)
    services.webhook_delivery_send(delivery_id=delivery.pk)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.FAILED, next_attempt_at=None
    )
    receiver.status = 200
    webhook_tasks.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.webhook_delivery_redeliver(delivery=delivery, actor=admin_user)
    assert webhook_tasks == [(delivery.pk, 0, "sync")]
    attempt = services.webhook_delivery_send(delivery_id=delivery.pk)

    assert attempt.manual and attempt.actor == admin_user and attempt.success
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCESS
    assert delivery.attempt_count == 2
    assert delivery.redeliver_requested_at is None
    # The same message: receivers dedupe on webhook-id.
    first, second = receiver.requests
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"]


def test_a_failed_redelivery_of_a_finished_delivery_fails_without_a_new_schedule(
    org, endpoint, receiver, admin_user, webhook_tasks
):
    receiver.status = 200
    delivery = emit(org)
    services.webhook_delivery_send(delivery_id=delivery.pk)
    receiver.status = 500
    services.webhook_delivery_redeliver(delivery=delivery, actor=admin_user)

    attempt = services.webhook_delivery_send(delivery_id=delivery.pk)

    assert attempt.manual and attempt.status_code == 500
    delivery.refresh_from_db()
    assert (delivery.status, delivery.next_attempt_at) == (DeliveryStatus.FAILED, None)


def test_a_failed_redelivery_keeps_a_pending_delivery_on_its_schedule(
    org, endpoint, receiver, admin_user, webhook_tasks
):
    receiver.status = 500
    delivery = emit(org)
    services.webhook_delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    scheduled = delivery.next_attempt_at
    services.webhook_delivery_redeliver(delivery=delivery, actor=admin_user)

    services.webhook_delivery_send(delivery_id=delivery.pk)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.next_attempt_at) == (DeliveryStatus.PENDING, scheduled)
    # The manual attempt does not use up the automatic schedule.
    attempt = run_due(delivery)
    delivery.refresh_from_db()
    assert delivery.next_attempt_at - attempt.attempted_at == datetime.timedelta(minutes=5)


def test_redelivery_to_a_disabled_endpoint_is_refused(org, endpoint, admin_user, webhook_tasks):
    delivery = emit(org)
    services.webhook_endpoint_disable(endpoint=endpoint)
    with pytest.raises(ValidationError, match="enable it"):
        services.webhook_delivery_redeliver(delivery=delivery, actor=admin_user)


def test_rotating_the_secret_signs_later_attempts_with_the_new_one(
    org, endpoint, receiver, webhook_tasks
):
    old = endpoint.secret
    new = services.webhook_endpoint_secret_rotate(endpoint=endpoint)
    assert new != old and new.startswith("whsec_")
    services.webhook_delivery_send(delivery_id=emit(org).pk)
    [request] = receiver.requests
    standardwebhooks.Webhook(new).verify(request["body"], request["headers"])
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(old).verify(request["body"], request["headers"])


def test_update_changes_only_what_is_given(org, endpoint, receiver):
    services.webhook_endpoint_update(
        endpoint=endpoint, events=["record.failed", "sync.completed"], description=" ERP "
    )
    endpoint.refresh_from_db()
    assert endpoint.events == ["sync.completed", "record.failed"]
    assert endpoint.description == "ERP"
    assert endpoint.url == receiver.url()
    with pytest.raises(ValidationError) as raised:
        services.webhook_endpoint_update(endpoint=endpoint, events=[], description="x" * 201)
    assert set(raised.value.message_dict) == {"events", "description"}
    with pytest.raises(ValidationError) as raised:
        services.webhook_endpoint_update(endpoint=endpoint, events=["sync.exploded"])
    assert "Unknown event type" in raised.value.message_dict["events"][0]
    services.webhook_endpoint_update(endpoint=endpoint, is_active=False)
    endpoint.refresh_from_db()
    assert not endpoint.is_active


def test_delete_removes_the_endpoint_and_its_deliveries(org, endpoint, webhook_tasks):
    emit(org)
    services.webhook_endpoint_delete(endpoint=endpoint)
    assert not WebhookEndpoint.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert WebhookMessage.objects.count() == 1  # the event happened; other endpoints may share it
