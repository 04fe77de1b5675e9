"""The events' data, built from real runs and records of the sync engine (Xero emulator)."""

import pytest
import standardwebhooks

from documents import services as document_services
from synclog import services as sync_services
from synclog.models import RecordStatus, StatusCode, SyncRecord
from tests.factories import CategoryFactory, DocumentFactory
from tests.webhooks.conftest import sent_json
from webhooks import payloads, services
from webhooks.models import WebhookDelivery


@pytest.fixture
def failed_and_pushed_run(org, clerk, connection, drain, office):
    travel = CategoryFactory(org=org, name="Travel", code="999")  # not in Xero's chart
    ok = DocumentFactory(org=org, category=office, number="OK-1")
    bad = DocumentFactory(org=org, category=travel, number="BAD-1")
    for document in (ok, bad):
        document_services.document_approve(document=document, actor=clerk)
    (run,) = sync_services.bulk_resync(org=org, document_ids=[ok.pk, bad.pk], actor=clerk)
    drain()
    run.refresh_from_db()
    return run, SyncRecord.objects.get(document=bad, status=RecordStatus.FAILED)


def test_a_finished_run_with_a_failure_is_sync_failed(
    org,
    connection,
    failed_and_pushed_run,
    allow_private,
    receiver,
    make_endpoint,
    webhook_tasks,
):
    run, _record = failed_and_pushed_run
    # Made after the run, so only this explicit emission reaches it.
    _endpoint, secret = make_endpoint(receiver.url())

    [delivery] = services.webhook_emit_run_finished(run=run)
    services.webhook_delivery_send(delivery_id=delivery.pk)

    [request] = receiver.requests
    body = standardwebhooks.Webhook(secret).verify(request["body"], request["headers"])
    assert body["type"] == "sync.failed"
    assert body["data"] == {
        "id": str(run.public_id),
        "status_code": StatusCode.CONFIGURATION,
        "status": "Configuration error",
        "trigger": "bulk",
        "retry_of": None,
        "connection": {"id": connection.pk, "name": "Xero", "provider": "xero"},
        "counts": {"total": 2, "pushed": 1, "nothing_to_push": 0, "failed": 1},
        "started_at": run.started_at.isoformat().replace("+00:00", "Z"),
        "finished_at": run.finished_at.isoformat().replace("+00:00", "Z"),
        "failed_transactions": body["data"]["failed_transactions"],  # test_partner_events.py
        "failed_transactions_url": f"http://127.0.0.1:8000/api/v1/syncs/{run.public_id}"
        "/transactions?status=failed",
        "failed_transactions_truncated": False,
    }
    assert [t["record_id"] for t in body["data"]["failed_transactions"]] == [_record.pk]


def test_a_successful_retry_is_sync_completed(
    org,
    clerk,
    connection,
    ledger_books,
    drain,
    failed_and_pushed_run,
    allow_private,
    receiver,
    make_endpoint,
    webhook_tasks,
):

    run, record = failed_and_pushed_run
    # The fix: the category gets a code the ledger knows, and is mapped by it.
    category = record.document.category
    category.code = "493"
    category.save()
    ledger_books.map_categories(connection)
    retry = sync_services.retry_failed(run=run, actor=clerk)
    drain()
    retry.refresh_from_db()
    assert retry.status_code == StatusCode.SUCCESS
    make_endpoint(receiver.url(), events=["sync.completed"])

    [delivery] = services.webhook_emit_run_finished(run=retry)
    services.webhook_delivery_send(delivery_id=delivery.pk)

    body = sent_json(receiver.requests[0])
    assert body["type"] == "sync.completed"
    assert body["data"]["retry_of"] == str(run.public_id)
    assert body["data"]["counts"]["pushed"] == 1


def test_a_failed_record_is_record_failed_with_explanation_and_hint(
    org,
    connection,
    failed_and_pushed_run,
    allow_private,
    receiver,
    make_endpoint,
    webhook_tasks,
):
    run, record = failed_and_pushed_run
    make_endpoint(receiver.url(), events=["record.failed"])

    [delivery] = services.webhook_emit_record_failed(record=record)
    services.webhook_delivery_send(delivery_id=delivery.pk)

    data = sent_json(receiver.requests[0])["data"]
    assert data["record_id"] == record.pk
    assert data["sync_id"] == str(run.public_id)
    assert data["entry_type"] == "bill"
    assert data["document"] == {"id": record.document_id, "number": "BAD-1", "kind": "bill"}
    assert data["connection"]["id"] == connection.pk
    assert data["status_code"] == StatusCode.CONFIGURATION
    assert "Category Travel has no Xero mapping" in data["message"]
    assert data["explanation"] == record.last_error_explanation != ""
    assert data["hint"] == record.last_error_hint != ""
    assert data["failed_at"].endswith("Z")


def test_no_endpoint_means_no_work(org, failed_and_pushed_run, webhook_tasks):
    run, record = failed_and_pushed_run
    assert services.webhook_emit_record_failed(record=record) == []
    assert services.webhook_emit_run_finished(run=run) == []


def test_event_type_follows_the_status_code(failed_and_pushed_run):
    run, _record = failed_and_pushed_run
    for code, expected in (
        (2000, "sync.completed"),
        (2040, "sync.completed"),
        (5130, "sync.failed"),
    ):
        run.status_code = code
        assert payloads.webhook_event_type_for_run(run) == expected


def test_the_engine_emits_record_failed_and_sync_failed_as_it_goes(
    org, clerk, connection, drain, office, allow_private, receiver, make_endpoint, webhook_tasks
):
    """End to end: the engine's own emissions, delivered to the real receiver and verified."""
    _endpoint, secret = make_endpoint(receiver.url())
    travel = CategoryFactory(org=org, name="Travel", code="999")
    ok = DocumentFactory(org=org, category=office, number="OK-2")
    bad = DocumentFactory(org=org, category=travel, number="BAD-2")
    for document in (ok, bad):
        document_services.document_approve(document=document, actor=clerk)
    (run,) = sync_services.bulk_resync(org=org, document_ids=[ok.pk, bad.pk], actor=clerk)
    drain()

    deliveries = list(WebhookDelivery.objects.select_related("message").order_by("pk"))
    events = [d.message.event_type for d in deliveries]
    # Automatic pushes on approval (no run) fail too: one record.failed each time it fails.
    assert "record.failed" in events
    assert events.count("sync.failed") == 1
    for delivery in deliveries:
        services.webhook_delivery_send(delivery_id=delivery.pk)
    bodies = [
        standardwebhooks.Webhook(secret).verify(request["body"], request["headers"])
        for request in receiver.requests
    ]
    [sync_failed] = [body for body in bodies if body["type"] == "sync.failed"]
    assert sync_failed["data"]["id"] == str(run.public_id)
    assert sync_failed["data"]["counts"]["failed"] == 1
    failed_numbers = {
        body["data"]["document"]["number"] for body in bodies if body["type"] == "record.failed"
    }
    assert failed_numbers == {"BAD-2"}
