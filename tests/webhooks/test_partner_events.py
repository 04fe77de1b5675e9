"""What a partner needs from webhooks: sync.failed lists its failed transactions (a page link
when there are more), and connection.status_changed tells when pushes stop or can go again."""

import pytest
import standardwebhooks

from documents import services as document_services
from integrations import services as integration_services
from synclog import services as sync_services
from synclog.models import StatusCode, SyncRunItem
from tests.factories import CategoryFactory, DocumentFactory
from webhooks import payloads, services
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db


def delivered(receiver, secret) -> list[dict]:
    """Send every delivery made so far, and read what the receiver verified."""
    for delivery in WebhookDelivery.objects.order_by("pk"):
        services.webhook_delivery_send(delivery_id=delivery.pk)
    return [
        standardwebhooks.Webhook(secret).verify(request["body"], request["headers"])
        for request in receiver.requests
    ]


def failing_run(org, clerk, office, drain, bad_count: int):
    travel = CategoryFactory(org=org, name="Travel", code="999")  # not in Xero's chart
    documents = [DocumentFactory(org=org, category=office, number="OK-1")] + [
        DocumentFactory(org=org, category=travel, number=f"BAD-{n}") for n in range(bad_count)
    ]
    for document in documents:
        document_services.document_approve(document=document, actor=clerk)
    (run,) = sync_services.bulk_resync(org=org, document_ids=[d.pk for d in documents], actor=clerk)
    drain()
    run.refresh_from_db()
    return run


def test_sync_failed_lists_its_failed_transactions(
    org, clerk, connection, office, drain, allow_private, receiver, make_endpoint, webhook_tasks
):
    _endpoint, secret = make_endpoint(receiver.url(), events=["sync.failed"])
    run = failing_run(org, clerk, office, drain, bad_count=2)
    [body] = delivered(receiver, secret)
    assert body["type"] == "sync.failed" and body["data"]["id"] == str(run.public_id)
    listed = body["data"]["failed_transactions"]
    items = SyncRunItem.objects.filter(run=run, outcome="failed").order_by("id")
    assert [t["id"] for t in listed] == [item.pk for item in items]
    assert [t["document_number"] for t in listed] == ["BAD-0", "BAD-1"]
    first = listed[0]
    assert (first["status"], first["status_code"], first["entry_type"]) == (
        "failed",
        StatusCode.CONFIGURATION,
        "bill",
    )
    assert "Travel" in first["message"] and first["hint"] and first["explanation"]
    assert body["data"]["failed_transactions_url"].endswith(
        f"/api/v1/syncs/{run.public_id}/transactions?status=failed"
    )
    assert body["data"]["failed_transactions_truncated"] is False


def test_a_long_failure_list_is_cut_and_links_to_its_pages(
    org,
    clerk,
    connection,
    office,
    drain,
    allow_private,
    receiver,
    make_endpoint,
    webhook_tasks,
    monkeypatch,
):
    monkeypatch.setattr(payloads, "FAILED_TRANSACTIONS_IN_BODY", 2)
    _endpoint, secret = make_endpoint(receiver.url(), events=["sync.failed"])
    run = failing_run(org, clerk, office, drain, bad_count=3)
    [body] = delivered(receiver, secret)
    assert body["data"]["counts"]["failed"] == 3
    assert len(body["data"]["failed_transactions"]) == 2
    assert body["data"]["failed_transactions_truncated"] is True
    assert str(run.public_id) in body["data"]["failed_transactions_url"]


def test_connection_status_changed_when_the_ledger_deauthorises_and_on_disconnect(
    org,
    clerk,
    admin_user,
    connection,
    office,
    drain,
    ledger,
    allow_private,
    receiver,
    make_endpoint,
    webhook_tasks,
):
    _endpoint, secret = make_endpoint(receiver.url(), events=["connection.status_changed"])
    ledger.revoke_tokens()
    for number in ("B-1", "B-2"):
        bill = DocumentFactory(org=org, category=office, number=number)
        document_services.document_approve(document=bill, actor=clerk)
    drain()
    drain()
    connection.refresh_from_db()
    assert connection.status == "needs_reauth"
    integration_services.connection_disconnect(connection=connection, actor=admin_user)

    bodies = delivered(receiver, secret)
    # Told once per change, however many pushes were refused.
    assert [(b["type"], b["data"]["previous_status"], b["data"]["status"]) for b in bodies] == [
        ("connection.status_changed", "active", "needs_reauth"),
        ("connection.status_changed", "needs_reauth", "disconnected"),
    ]
    first = bodies[0]["data"]
    assert first["connection"] == {"id": connection.pk, "name": "Xero", "provider": "xero"}
    assert first["reason"] and first["changed_at"]


def test_disable_and_enable_are_told_too(
    connection, admin_user, allow_private, receiver, make_endpoint, webhook_tasks
):
    _endpoint, secret = make_endpoint(receiver.url(), events=["connection.status_changed"])
    integration_services.connection_disable(connection=connection, actor=admin_user)
    integration_services.connection_enable(connection=connection, actor=admin_user)
    statuses = [b["data"]["status"] for b in delivered(receiver, secret)]
    assert statuses == ["disabled", "active"]
