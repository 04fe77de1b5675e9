"""Every status code of DESIGN §5, reached the way a partner meets it: a dataset pushed and
synced over the API, the in-process Xero emulator driven into the situation, and the code read
back from GET /syncs/{id}, its transactions and its webhook."""

import datetime
from types import SimpleNamespace

import pytest
import standardwebhooks
from django.utils import timezone

from api.models import ExpenseDatasetItem
from documents.models import DocumentLine
from integrations import services as integration_services
from integrations.payloads import build_entry_payload, document_reference
from integrations.selectors import mapping_index
from synclog.models import SyncRecord, SyncRun
from tests.api.test_datasets import expense, push
from webhooks import services as webhook_services
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def partner(api, category, connection, ledger, drain, receiver, settings):
    """A partner with a webhook endpoint, pushing a dataset and syncing it."""
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True  # the receiver listens on loopback
    hook = api.post(
        "/api/v1/webhook-endpoints",
        {"url": receiver.url(), "events": ["sync.completed", "sync.failed"]},
        format="json",
    ).json()

    def push_dataset(count=2, **overrides):
        items = [expense(n, category, **overrides) for n in range(1, count + 1)]
        response = push(api, items)
        assert response.status_code == 201, response.content
        return response.json()["id"]

    def start(dataset_id):
        response = api.post("/api/v1/syncs", {"dataset_ids": [dataset_id]}, format="json")
        assert response.status_code == 202, response.content
        return response.json()["id"]

    def read(sync_id):
        """The sync, its transactions and the webhooks it sent (verified as a partner does)."""
        sync = api.get(f"/api/v1/syncs/{sync_id}").json()
        transactions = api.get(f"/api/v1/syncs/{sync_id}/transactions").json()["results"]
        for delivery in WebhookDelivery.objects.filter(status="pending").order_by("pk"):
            webhook_services.webhook_delivery_send(delivery_id=delivery.pk)
        bodies = [
            standardwebhooks.Webhook(hook["secret"]).verify(r["body"], r["headers"])
            for r in receiver.requests
        ]
        hooks = [body for body in bodies if body["data"]["id"] == sync_id]
        return SimpleNamespace(sync=sync, transactions=transactions, hooks=hooks)

    def synced(dataset_id, rounds=20):
        sync_id = start(dataset_id)
        drain(rounds=rounds)
        return read(sync_id)

    return SimpleNamespace(api=api, push=push_dataset, start=start, read=read, synced=synced)


def assert_code(seen, code: int, *, event: str, item_codes=None):
    assert seen.sync["status_code"] == code, seen.sync
    assert seen.sync["finished"]
    [hook] = seen.hooks
    assert (hook["type"], hook["data"]["status_code"]) == (event, code)
    expected = item_codes if item_codes is not None else [code] * len(seen.transactions)
    assert [t["status_code"] for t in seen.transactions] == expected
    return hook


def test_1000_in_progress(partner):
    seen = partner.read(partner.start(partner.push()))
    assert (seen.sync["status_code"], seen.sync["finished"]) == (1000, False)
    assert {t["status"] for t in seen.transactions} == {"pending"}
    assert seen.hooks == []  # nothing is told until it ends


def test_1010_in_progress_over_ten_minutes(partner, ledger, drain):
    sync_id = partner.start(partner.push())
    ledger.set_faults(burst_429=1000)  # Xero keeps answering 429: the sync cannot end
    drain(rounds=1)
    SyncRun.objects.filter(public_id=sync_id).update(
        started_at=timezone.now() - datetime.timedelta(minutes=11)
    )
    seen = partner.read(sync_id)
    assert (seen.sync["status_code"], seen.sync["finished"]) == (1010, False)
    assert {t["status"] for t in seen.transactions} == {"pending"}
    assert seen.hooks == []
    # The list's 1010 filter finds it.
    listed = partner.api.get("/api/v1/syncs", {"status_code": 1010}).json()["results"]
    assert [sync["id"] for sync in listed] == [sync_id]


def test_2000_data_pushed(partner, ledger):
    seen = partner.synced(partner.push())
    assert_code(seen, 2000, event="sync.completed")
    assert {t["status"] for t in seen.transactions} == {"pushed"}
    assert len(ledger.invoices()) == 2


def test_2040_nothing_to_push(partner, ledger):
    dataset_id = partner.push()
    partner.synced(dataset_id)
    seen = partner.synced(dataset_id)
    assert_code(seen, 2040, event="sync.completed")
    assert {t["status"] for t in seen.transactions} == {"nothing_to_push"}
    assert len(ledger.invoices()) == 2


def test_4000_configuration_error(partner, org):
    from tests.factories import CategoryFactory

    unmapped = CategoryFactory(org=org, name="Travel", code="999")
    seen = partner.synced(partner.push(category=unmapped.pk))
    hook = assert_code(seen, 4000, event="sync.failed")
    assert seen.transactions[0]["error"]["missing_mapping"]["name"] == "Travel"
    assert [t["status_code"] for t in hook["data"]["failed_transactions"]] == [4000, 4000]


def test_4040_organisation_deleted_in_the_ledger(partner, ledger, connection):
    ledger.delete_tenant(connection.tenant_id)
    seen = partner.synced(partner.push())
    hook = assert_code(seen, 4040, event="sync.failed")
    assert "deleted" in seen.transactions[0]["error"]["message"]
    assert "Reconnect" in hook["data"]["failed_transactions"][0]["hint"]
    connection.refresh_from_db()
    assert connection.status == "needs_reauth"  # its records wait for a reconnect


def test_4220_deauthorised_in_the_ledger(partner, ledger, connection):
    ledger.revoke_tokens()
    seen = partner.synced(partner.push())
    assert_code(seen, 4220, event="sync.failed")
    assert "Reconnect" in seen.transactions[0]["error"]["hint"]
    connection.refresh_from_db()
    assert connection.status == "needs_reauth"


def test_4260_ledger_subscription_expired(partner, ledger, connection):
    ledger.set_subscription(connection.tenant_id, active=False)
    seen = partner.synced(partner.push())
    hook = assert_code(seen, 4260, event="sync.failed")
    assert "subscription" in seen.transactions[0]["error"]["hint"]
    assert hook["data"]["failed_transactions"][0]["status_code"] == 4260
    connection.refresh_from_db()
    assert connection.status == "active"  # nothing to reconnect: renew, then retry


def test_5000_server_errors_after_the_retries(partner, ledger, settings):
    settings.SYNC_MAX_ATTEMPTS = 2
    settings.SYNC_BACKOFF_BASE_SECONDS = 0.01
    ledger.set_faults(error_rate=1.0)  # Xero answers 500/503 to everything
    seen = partner.synced(partner.push())
    assert_code(seen, 5000, event="sync.failed")
    assert "Xero failed with HTTP 50" in seen.transactions[0]["error"]["message"]
    assert ledger.invoices() == []


def test_5080_duplication_protection(partner, ledger, connection, drain):
    dataset_id = partner.push(count=1)
    sync_id = partner.start(dataset_id)
    # The create reaches Xero but its answer is lost; before the retry, a second entry with
    # our reference appears in Xero (copied there by someone).
    ledger.set_faults(drop_response_next=True)
    drain(rounds=1)
    record = SyncRecord.objects.get()
    assert record.unknown_outcome
    document = ExpenseDatasetItem.objects.get().document
    payload = build_entry_payload(
        document, connection=connection, mappings=mapping_index(connection=connection)
    )
    integration_services.connector_for(connection).create_entry(payload, idempotency_key="copy")
    assert [i["Url"].endswith(document_reference(document)) for i in ledger.invoices()] == [
        True,
        True,
    ]
    drain()
    seen = partner.read(sync_id)
    assert_code(seen, 5080, event="sync.failed")
    assert len(ledger.invoices()) == 2  # never a third


def test_5120_data_processing_error(partner, ledger):
    dataset_id = partner.push(count=1)
    # A document left without a line (removed behind the services' back): nothing to book.
    DocumentLine.objects.filter(document__expense_dataset_item__isnull=False).delete()
    seen = partner.synced(dataset_id)
    assert_code(seen, 5120, event="sync.failed")
    assert "no line" in seen.transactions[0]["error"]["message"]
    assert ledger.invoices() == []


def test_5130_data_push_error(partner, ledger, connection):
    ledger.set_lock_date(connection.tenant_id, "2026-12-31")  # after the items' dates
    seen = partner.synced(partner.push())
    assert_code(seen, 5130, event="sync.failed")
    assert "lock date" in seen.transactions[0]["error"]["message"].lower()


@pytest.mark.parametrize(
    ("break_ledger", "code"),
    [
        (lambda ledger, tenant_id: ledger.delete_tenant(tenant_id), 4040),
        (lambda ledger, tenant_id: ledger.set_subscription(tenant_id, active=False), 4260),
    ],
    ids=["4040", "4260"],
)
def test_the_batched_path_ends_with_the_same_codes(
    partner, ledger, connection, batches, break_ledger, code, django_capture_on_commit_callbacks
):
    """POST /syncs sends its items to the workers in batches (sync_batch): same codes there."""
    from synclog import services as sync_services

    dataset_id = partner.push(count=3)
    break_ledger(ledger, connection.tenant_id)
    with django_capture_on_commit_callbacks(execute=True):
        sync_id = partner.start(dataset_id)
    assert [len(batch) for batch in batches] == [3]
    with django_capture_on_commit_callbacks(execute=True):
        sync_services.sync_batch_push(record_ids=batches[0], worker="test")
    assert_code(partner.read(sync_id), code, event="sync.failed")
