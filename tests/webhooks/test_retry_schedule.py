"""Svix's schedule: at once, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, then failed; every attempt
logged with the answer. 4xx answers are retried like 5xx ones."""

import datetime

import pytest

from tests.webhooks.conftest import run_due
from webhooks import services
from webhooks.models import DeliveryStatus, WebhookDelivery

EXPECTED_DELAYS = [
    datetime.timedelta(seconds=5),
    datetime.timedelta(minutes=5),
    datetime.timedelta(minutes=30),
    datetime.timedelta(hours=2),
    datetime.timedelta(hours=5),
    datetime.timedelta(hours=10),
    datetime.timedelta(hours=10),
]


@pytest.mark.parametrize("answer", [500, 503, 404, 400, 410])
def test_failures_follow_the_svix_schedule_then_the_delivery_fails(
    org,
    allow_private,
    receiver,
    make_endpoint,
    webhook_tasks,
    answer,
    django_capture_on_commit_callbacks,
):
    receiver.status = answer
    receiver.body = f"error {answer}".encode()
    make_endpoint(receiver.url(), events=["sync.failed"])

    with django_capture_on_commit_callbacks(execute=True):
        [delivery] = services.webhook_event_emit(
            org=org, event_type="sync.failed", payload={"id": "x"}
        )
    # The first attempt: at once, enqueued with no delay.
    assert delivery.next_attempt_at is not None
    assert webhook_tasks == [(delivery.pk, 0, "sync")]

    with django_capture_on_commit_callbacks(execute=True):
        attempt = services.webhook_delivery_send(delivery_id=delivery.pk)
    for number, expected in enumerate(EXPECTED_DELAYS, start=1):
        delivery.refresh_from_db()
        assert delivery.status == DeliveryStatus.PENDING
        assert delivery.attempt_count == number
        assert delivery.next_attempt_at - attempt.attempted_at == expected, number
        # The task of the next attempt waits as long (give or take the test's own run time).
        _id, countdown, queue = webhook_tasks[-1]
        assert queue == "sync"
        assert abs(countdown - expected.total_seconds()) < 5
        assert attempt.status_code == answer
        assert attempt.response_body == f"error {answer}"
        assert attempt.error == f"The endpoint answered HTTP {answer}."
        with django_capture_on_commit_callbacks(execute=True):
            attempt = run_due(delivery)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.next_attempt_at is None
    assert delivery.attempt_count == 8
    assert len(receiver.requests) == 8
    assert list(delivery.attempts.values_list("status_code", flat=True)) == [answer] * 8
    assert not delivery.attempts.filter(success=True).exists()
    # Spent: no further task, and a late one sends nothing.
    assert len(webhook_tasks) == 1 + len(EXPECTED_DELAYS)
    assert services.webhook_delivery_send(delivery_id=delivery.pk) is None
    assert len(receiver.requests) == 8


def test_a_success_after_failures_ends_the_delivery(
    org, allow_private, receiver, make_endpoint, webhook_tasks
):
    endpoint, _secret = make_endpoint(receiver.url())
    receiver.status = 500
    [delivery] = services.webhook_event_emit(
        org=org, event_type="sync.completed", payload={"id": "x"}
    )
    services.webhook_delivery_send(delivery_id=delivery.pk)
    run_due(delivery)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None
    receiver.status = 204
    receiver.body = b""

    attempt = run_due(delivery)

    assert attempt.success and attempt.status_code == 204
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempt_count, delivery.next_attempt_at) == (
        DeliveryStatus.SUCCESS,
        3,
        None,
    )
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None
    assert WebhookDelivery.objects.get().last_status_code == 204
