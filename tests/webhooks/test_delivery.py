"""Deliveries to a real HTTP server: Standard Webhooks signatures, answers, no redirects."""

import base64
import decimal
import socket
import time

import pytest
import standardwebhooks
from django.utils import timezone

from tests.webhooks.conftest import run_due, sent_json
from webhooks import services, tasks
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookMessage
from webhooks.services import delivery as delivery_service

PAYLOAD = {"id": "6f1c2a", "status_code": 2000, "counts": {"total": 1, "pushed": 1}}


@pytest.fixture
def endpoint_and_secret(allow_private, receiver, make_endpoint):
    return make_endpoint(receiver.url())


def emit(org, payload=PAYLOAD, event_type="sync.completed"):
    return services.webhook_event_emit(org=org, event_type=event_type, payload=payload)


def test_the_delivery_is_signed_per_standard_webhooks_and_verifies(
    org, receiver, endpoint_and_secret, webhook_tasks
):
    endpoint, secret = endpoint_and_secret
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 24
    [delivery] = emit(org)

    attempt = services.webhook_delivery_send(delivery_id=delivery.pk)

    [request] = receiver.requests
    assert request["path"] == "/hooks/ledgersync"
    headers = {name.lower(): value for name, value in request["headers"].items()}
    message = WebhookMessage.objects.get()
    assert headers["webhook-id"] == message.webhook_id
    assert headers["webhook-signature"].startswith("v1,")
    assert headers["content-type"] == "application/json"
    # The published scheme, with the secret as shown to the user once.
    verified = standardwebhooks.Webhook(secret).verify(request["body"], request["headers"])
    assert verified["type"] == "sync.completed"
    assert verified["data"] == PAYLOAD
    assert verified["timestamp"].endswith("Z")
    # A different secret, a changed body or an old timestamp do not verify.
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(services.webhook_secret_generate()).verify(
            request["body"], request["headers"]
        )
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(
            request["body"].replace(b"2000", b"5130"), request["headers"]
        )
    stale = {
        **request["headers"],
        "webhook-timestamp": str(int(headers["webhook-timestamp"]) - 600),
    }
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(request["body"], stale)

    assert attempt.success and attempt.status_code == 200
    assert attempt.response_body == '{"ok": true}'
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCESS
    assert delivery.attempt_count == 1
    assert delivery.next_attempt_at is None
    assert delivery.last_status_code == 200


def test_every_attempt_sends_the_same_id_and_body_with_a_fresh_signature(
    org, receiver, endpoint_and_secret, webhook_tasks
):
    _endpoint, secret = endpoint_and_secret
    receiver.status = 503
    [delivery] = emit(org)
    services.webhook_delivery_send(delivery_id=delivery.pk)
    receiver.status = 200
    run_due(delivery)

    first, second = receiver.requests
    assert first["body"] == second["body"]
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"]
    for request in (first, second):
        standardwebhooks.Webhook(secret).verify(request["body"], request["headers"])


def test_the_celery_task_sends_the_delivery(org, receiver, endpoint_and_secret, webhook_tasks):
    _endpoint, secret = endpoint_and_secret
    [delivery] = emit(org)

    tasks.webhook_deliver.apply(args=[delivery.pk])

    [request] = receiver.requests
    standardwebhooks.Webhook(secret).verify(request["body"], request["headers"])
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCESS


def test_a_host_name_is_resolved_and_sent_to_with_its_own_host_header(
    org, allow_private, receiver, make_endpoint, webhook_tasks
):
    # localhost may resolve to ::1 first, where nothing listens: the next address answers.
    endpoint, secret = make_endpoint(receiver.url(host="localhost"))
    [delivery] = emit(org)

    attempt = services.webhook_delivery_send(delivery_id=delivery.pk)

    assert attempt.success, attempt.error
    [request] = receiver.requests
    assert request["headers"]["Host"] == f"localhost:{receiver.port}"
    standardwebhooks.Webhook(secret).verify(request["body"], request["headers"])


def test_redirects_are_not_followed(org, receiver, endpoint_and_secret, webhook_tasks):
    receiver.status = 302
    receiver.extra_headers = {"Location": receiver.url("/elsewhere")}
    [delivery] = emit(org)

    attempt = services.webhook_delivery_send(delivery_id=delivery.pk)

    assert [request["path"] for request in receiver.requests] == ["/hooks/ledgersync"]
    assert not attempt.success
    assert attempt.status_code == 302
    assert attempt.error == "The endpoint answered HTTP 302."
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING


def test_a_long_answer_is_logged_truncated(org, receiver, endpoint_and_secret, webhook_tasks):
    receiver.status = 500
    receiver.body = b"x" * 50_000
    [delivery] = emit(org)

    attempt = services.webhook_delivery_send(delivery_id=delivery.pk)

    assert attempt.status_code == 500
    assert attempt.response_body == "x" * services.RESPONSE_BODY_LIMIT


def test_no_server_listening_is_a_logged_failure_to_connect(
    org, allow_private, make_endpoint, webhook_tasks
):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    make_endpoint(f"http://127.0.0.1:{port}/nobody")
    [delivery] = emit(org)

    attempt = services.webhook_delivery_send(delivery_id=delivery.pk)

    assert attempt.status_code is None
    assert attempt.error.startswith("Could not connect to 127.0.0.1")
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.last_error == attempt.error


def test_a_timeout_is_a_logged_failure(
    org, receiver, endpoint_and_secret, webhook_tasks, monkeypatch
):
    monkeypatch.setattr(delivery_service, "HTTP_TIMEOUT_SECONDS", 0.2)
    original = receiver.server.RequestHandlerClass.do_POST

    def slow(handler):
        time.sleep(0.6)
        original(handler)

    monkeypatch.setattr(receiver.server.RequestHandlerClass, "do_POST", slow)
    [delivery] = emit(org)

    attempt = services.webhook_delivery_send(delivery_id=delivery.pk)

    assert attempt.status_code is None
    assert attempt.error == "No answer within 0.2 seconds."


def test_a_task_that_comes_early_or_twice_sends_nothing(
    org, receiver, endpoint_and_secret, webhook_tasks
):
    [delivery] = emit(org)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() + timezone.timedelta(minutes=5)
    )
    assert services.webhook_delivery_send(delivery_id=delivery.pk) is None
    run_due(delivery)
    assert services.webhook_delivery_send(delivery_id=delivery.pk) is None  # already delivered
    assert len(receiver.requests) == 1
    assert services.webhook_delivery_send(delivery_id=999_999) is None  # gone


def test_a_delivery_held_by_another_worker_is_left_to_it(
    org, receiver, endpoint_and_secret, webhook_tasks
):
    [delivery] = emit(org)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        claimed_until=timezone.now() + timezone.timedelta(seconds=30)
    )
    assert services.webhook_delivery_send(delivery_id=delivery.pk) is None
    assert receiver.requests == []


def test_the_sweep_enqueues_overdue_deliveries_whose_task_was_lost(
    org, receiver, endpoint_and_secret, webhook_tasks, django_capture_on_commit_callbacks
):
    [delivery] = emit(org)
    assert services.webhook_deliveries_sweep() == 0  # just emitted: its task is on its way
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timezone.timedelta(minutes=5)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert services.webhook_deliveries_sweep() == 1
    assert webhook_tasks == [(delivery.pk, 0, "sync")]


def test_the_body_is_the_message_envelope(org, receiver, endpoint_and_secret, webhook_tasks):
    [delivery] = emit(org, payload={"when": timezone.now(), "amount": decimal.Decimal("1.50")})
    services.webhook_delivery_send(delivery_id=delivery.pk)
    body = sent_json(receiver.requests[0])
    assert set(body) == {"type", "timestamp", "data"}
    assert body["data"]["amount"] == "1.50"
    assert isinstance(body["data"]["when"], str)
