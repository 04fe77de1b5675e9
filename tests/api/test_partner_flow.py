"""The partner flow end to end, against the in-process Xero emulator, as a partner developer
would follow it from /api/docs/: push 100 expenses, start a sync of the dataset, poll it, list
its transactions, see the one that failed and why, fix it, retry the failed items, see the sync
complete, and receive the signed sync.completed webhook on a local HTTP server."""

import base64
import hashlib
import hmac
import json

import pytest
import standardwebhooks

from tests.factories import CategoryFactory
from tests.ledger_fixtures import map_to_account
from webhooks import services as webhook_services
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.django_db

EXPENSES = 100


@pytest.fixture
def travel(org):
    # A category the ledger has no mapping for: its expense fails with 4000 until it is mapped.
    return CategoryFactory(org=org, name="Travel", code="999")


def expenses(office, travel) -> list[dict]:
    items = [
        {
            "id": f"card-{n:04d}",
            "issue_date": "2026-11-03",
            "currency": "EUR",
            "merchant_name": f"Merchant {n % 7}",
            "category": office.pk,
            "lines": [{"description": f"Purchase {n}", "unit_amount": f"{n + 1}.25"}],
        }
        for n in range(EXPENSES)
    ]
    items[42] = {**items[42], "category": travel.pk, "notes": "Train to Lyon"}
    return items


def poll_until_finished(api, sync_id, drain) -> dict:
    for _ in range(10):
        sync = api.get(f"/api/v1/syncs/{sync_id}").json()
        if sync["finished"]:
            return sync
        assert sync["status_code"] in (1000, 1010)
        drain(rounds=1)
    raise AssertionError(f"sync {sync_id} did not finish: {sync}")


def deliver_pending_webhooks() -> None:
    """Play the webhook worker: send every delivery that is due."""
    for delivery in WebhookDelivery.objects.filter(status="pending").order_by("pk"):
        webhook_services.webhook_delivery_send(delivery_id=delivery.pk)


def verify_by_hand(secret: str, headers: dict, body: bytes) -> None:
    """The published scheme, without any library: v1,<base64 HMAC-SHA256 of id.timestamp.body>
    keyed with the base64-decoded secret after `whsec_`."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    signatures = [part.split(",", 1)[1] for part in headers["webhook-signature"].split()]
    assert any(hmac.compare_digest(expected, signature) for signature in signatures)


def test_push_100_expenses_sync_fix_retry_and_get_the_signed_webhook(
    api, org, office, travel, connection, drain, ledger, receiver, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True  # the receiver listens on loopback
    hook = api.post(
        "/api/v1/webhook-endpoints",
        {"url": receiver.url(), "events": ["sync.completed", "sync.failed", "record.failed"]},
        format="json",
    ).json()
    secret = hook["secret"]

    # 1. Push 100 expense transactions in one dataset.
    pushed = api.post(
        "/api/v1/expense-datasets",
        {"items": expenses(office, travel)},
        format="json",
        HTTP_IDEMPOTENCY_KEY="dataset-2026-11-03",
    )
    assert pushed.status_code == 201, pushed.content
    dataset = pushed.json()
    assert dataset["item_count"] == EXPENSES
    # Held until a sync names it (Codat's model): nothing went to the ledger yet.
    assert (dataset["status"], dataset["counts"]["staged"]) == ("staged", EXPENSES)

    # 2. Start a sync of the dataset: 202 with the sync id.
    started = api.post(
        "/api/v1/syncs",
        {"dataset_ids": [dataset["id"]]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="sync-2026-11-03",
    )
    assert started.status_code == 202, started.content
    sync_id = started.json()["id"]
    assert started.json()["status_code"] == 1000

    # 3. Poll until it ends: one item failed, so the sync failed with its code (4000).
    sync = poll_until_finished(api, sync_id, drain)
    assert sync["status_code"] == 4000
    assert sync["counts"] == {
        "total": EXPENSES,
        "pushed": EXPENSES - 1,
        "nothing_to_push": 0,
        "failed": 1,
        "resolved": 0,
        "pending": 0,
    }
    assert len(ledger.invoices()) == EXPENSES - 1

    # 4. List the transactions (two pages), find the failed one and why.
    page = api.get(f"/api/v1/syncs/{sync_id}/transactions", {"page_size": 60}).json()
    transactions = page["results"] + api.get(page["next"]).json()["results"]
    assert len(transactions) == EXPENSES
    failed = [t for t in transactions if t["status"] == "failed"]
    assert [t["transaction_id"] for t in failed] == ["card-0042"]
    error = failed[0]["error"]
    assert error["status_code"] == 4000
    assert "Category Travel has no Xero mapping" in error["message"]
    assert "Mappings" in error["hint"]
    dataset_now = api.get(f"/api/v1/expense-datasets/{dataset['id']}").json()
    assert dataset_now["counts"] == {
        "staged": 0,
        "not_synced": 0,
        "pending": 0,
        "complete": EXPENSES - 1,
        "failed": 1,
    }

    # 5. Fix the cause (map Travel to a ledger account), retry the failed items.
    map_to_account(connection, travel)
    retry = api.post(f"/api/v1/syncs/{sync_id}/retry-failed", HTTP_IDEMPOTENCY_KEY="retry-1")
    assert retry.status_code == 202, retry.content
    retry_id = retry.json()["id"]
    assert retry.json()["counts"]["total"] == 1
    # A retried POST with the same key does not start a second retry.
    assert (
        api.post(f"/api/v1/syncs/{sync_id}/retry-failed", HTTP_IDEMPOTENCY_KEY="retry-1").json()[
            "id"
        ]
        == retry_id
    )

    # 6. The retry completes: everything is in the ledger, once.
    done = poll_until_finished(api, retry_id, drain)
    assert (done["status_code"], done["retry_of"], done["counts"]["pushed"]) == (2000, sync_id, 1)
    assert len(ledger.invoices()) == EXPENSES
    final = api.get(f"/api/v1/expense-datasets/{dataset['id']}").json()
    assert final["counts"]["complete"] == EXPENSES

    # 7. The webhooks: sync.failed, record.failed, then sync.completed, each signed.
    deliver_pending_webhooks()
    received = {}
    for request in receiver.requests:
        headers = {name.lower(): value for name, value in request["headers"].items()}
        event = standardwebhooks.Webhook(secret).verify(request["body"], headers)
        verify_by_hand(secret, headers, request["body"])
        received.setdefault(event["type"], []).append(event["data"])
    completed = received["sync.completed"]
    assert [(e["id"], e["status_code"], e["retry_of"]) for e in completed] == [
        (retry_id, 2000, sync_id)
    ]
    assert [e["id"] for e in received["sync.failed"]] == [sync_id]
    assert [e["status_code"] for e in received["record.failed"]] == [4000]
    body = json.loads(receiver.requests[-1]["body"])
    assert set(body) == {"type", "timestamp", "data"}
