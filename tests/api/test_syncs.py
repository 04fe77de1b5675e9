"""Syncs: start (202), status, transactions with errors, retry failed; connections; force sync."""

import datetime

import pytest
from django.utils import timezone

from documents import services as document_services
from integrations.models import Connection, ConnectionStatus, Provider
from synclog.models import StatusCode, SyncRun, Trigger
from tests.api.conftest import error_fields
from tests.factories import CategoryFactory, DocumentFactory
from tests.ledger_fixtures import map_to_account
from tests.tenancy import assert_not_found_for_other_tenant

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved(org, vendor, category, connection, drain):
    """Three approved bills already pushed once (their automatic sync)."""
    documents = []
    for n in range(3):
        document = DocumentFactory(org=org, contact=vendor, category=category, number=f"B-{n}")
        document_services.document_approve(document=document, actor=None)
        documents.append(document)
    drain()
    return documents


@pytest.fixture
def unmapped(org, vendor):
    """An approved bill whose category has no mapping: its push fails with 4000."""
    travel = CategoryFactory(org=org, name="Travel", code="999")
    document = DocumentFactory(org=org, contact=vendor, category=travel, number="T-1")
    document_services.document_approve(document=document, actor=None)
    return document


def start(api, **body):
    return api.post("/api/v1/syncs", body, format="json")


def test_start_a_sync_of_documents_and_follow_it(api, approved, connection, drain):
    response = start(api, document_ids=[d.pk for d in approved])
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status_code"] == 1000
    (sync,) = body["syncs"]
    assert sync["id"] == body["id"]
    assert response["Location"] == f"/api/v1/syncs/{body['id']}"
    assert (sync["trigger"], sync["initiated_by"], sync["connection"]["id"]) == (
        "api",
        "API key Partner ERP",
        connection.pk,
    )
    assert sync["counts"] == {
        "total": 3,
        "pushed": 0,
        "nothing_to_push": 0,
        "failed": 0,
        "resolved": 0,
        "pending": 3,
    }
    drain()
    done = api.get(f"/api/v1/syncs/{body['id']}").json()
    # Already in the ledger and unchanged: nothing to push, a success.
    assert (done["status_code"], done["status"], done["finished"]) == (
        2040,
        "Success, nothing to push",
        True,
    )
    assert done["counts"]["nothing_to_push"] == 3


def test_a_sync_with_a_failure_lists_it_with_its_explanation_then_retry_fixes_it(
    api, approved, unmapped, connection, drain, org
):
    sync = start(api, document_ids=[approved[0].pk, unmapped.pk]).json()
    drain()
    run = api.get(f"/api/v1/syncs/{sync['id']}").json()
    assert run["status_code"] == 4000
    assert run["counts"]["failed"] == 1 and run["finished"]

    transactions = api.get(f"/api/v1/syncs/{sync['id']}/transactions").json()["results"]
    assert len(transactions) == 2
    failed = api.get(f"/api/v1/syncs/{sync['id']}/transactions", {"status": "failed"}).json()[
        "results"
    ]
    (item,) = failed
    assert (item["document_id"], item["status"], item["status_code"]) == (
        unmapped.pk,
        "failed",
        4000,
    )
    error = item["error"]
    assert "Category Travel has no Xero mapping" in error["message"]
    assert error["explanation"] and "Mappings" in error["hint"]
    detail = api.get(f"/api/v1/syncs/{sync['id']}/transactions/{item['id']}").json()
    assert detail == item

    map_to_account(connection, unmapped.category)
    retry = api.post(f"/api/v1/syncs/{sync['id']}/retry-failed")
    assert retry.status_code == 202, retry.content
    assert (retry.json()["retry_of"], retry.json()["counts"]["total"]) == (sync["id"], 1)
    drain()
    assert api.get(f"/api/v1/syncs/{retry.json()['id']}").json()["status_code"] == 2000
    nothing_left = api.post(f"/api/v1/syncs/{retry.json()['id']}/retry-failed")
    assert nothing_left.status_code == 400
    assert nothing_left.json()["error"]["message"] == "This sync has no failed items."


def test_start_a_sync_of_a_dataset(api, category, connection, drain):
    items = [
        {
            "id": f"t-{n}",
            "issue_date": "2026-11-03",
            "currency": "EUR",
            "merchant_name": "Shop",
            "category": category.pk,
            "lines": [{"description": "x", "unit_amount": "5.00"}],
        }
        for n in range(2)
    ]
    dataset = api.post("/api/v1/expense-datasets", {"items": items}, format="json").json()
    sync = start(api, dataset_ids=[dataset["id"]]).json()
    assert sync["syncs"][0]["counts"]["total"] == 2
    assert api.get(f"/api/v1/expense-datasets/{dataset['id']}").json()["status"] == (
        "sync_requested"
    )
    drain()
    assert api.get(f"/api/v1/syncs/{sync['id']}").json()["status_code"] == 2000
    transactions = api.get(f"/api/v1/syncs/{sync['id']}/transactions").json()["results"]
    assert sorted(t["transaction_id"] for t in transactions) == ["t-0", "t-1"]
    assert {t["entry_type"] for t in transactions} == {"expense"}


def test_start_validation(api, org, approved, bill, foreign):
    empty = start(api)
    assert empty.status_code == 400
    assert error_fields(empty) == {"non_field_errors": ["Give document_ids, dataset_ids or both."]}
    response = start(
        api,
        document_ids=[approved[0].pk, 999999, bill.pk, foreign["document"].pk],
        dataset_ids=["00000000-0000-0000-0000-000000000000"],
    )
    assert response.status_code == 400
    fields = error_fields(response)
    assert set(fields) == {"document_ids.1", "document_ids.2", "document_ids.3", "dataset_ids.0"}
    assert "awaiting approval" in fields["document_ids.2"][0]
    # Another organisation's document reads exactly like a missing one.
    assert fields["document_ids.3"][0].replace(str(foreign["document"].pk), "N") == fields[
        "document_ids.1"
    ][0].replace("999999", "N")
    assert "dataset_ids.0" in error_fields(start(api, dataset_ids=["not-a-uuid"]))
    assert not SyncRun.objects.filter(trigger=Trigger.API).exists()


def test_start_without_an_active_connection(api, org, vendor, category):
    document = DocumentFactory(org=org, contact=vendor, category=category)
    document_services.document_approve(document=document, actor=None)
    response = start(api, document_ids=[document.pk])
    assert response.status_code == 400
    assert "no active connection" in response.json()["error"]["message"]


def test_list_syncs_with_filters(api, approved, connection, org):
    first = start(api, document_ids=[approved[0].pk]).json()
    old = SyncRun.objects.create(
        org=org,
        connection=connection,
        trigger=Trigger.BULK,
        started_at=timezone.now() - datetime.timedelta(days=3, minutes=5),
    )

    def ids(**params):
        response = api.get("/api/v1/syncs", params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    # Newest first, by creation (a run's start time is set when it is created).
    assert ids() == [str(old.public_id), first["id"]]
    assert ids(status_code=1010) == [str(old.public_id)]
    assert ids(status_code=1000) == [first["id"]]
    assert ids(status_code=2000) == []
    assert ids(connection=connection.pk) == [str(old.public_id), first["id"]]
    today = timezone.localdate()
    assert ids(started_from=today.isoformat()) == [first["id"]]
    assert ids(started_to=(today - datetime.timedelta(days=1)).isoformat()) == [str(old.public_id)]
    assert ids(id=first["id"][:8]) == [first["id"]]
    assert ids(id=first["id"].replace("-", "").upper()) == [first["id"]]
    assert ids(id="zz") == []
    assert api.get(f"/api/v1/syncs/{old.public_id}").json()["status_code"] == 1010
    bad = api.get("/api/v1/syncs", {"status_code": 1234, "started_from": "x"})
    assert set(error_fields(bad)) == {"status_code", "started_from"}


def test_another_organisations_syncs_are_404(api, other_api, approved, connection):
    sync = start(api, document_ids=[approved[0].pk]).json()
    transactions = api.get(f"/api/v1/syncs/{sync['id']}/transactions").json()["results"]
    base = f"/api/v1/syncs/{sync['id']}"
    for url in (base, f"{base}/transactions", f"{base}/transactions/{transactions[0]['id']}"):
        assert_not_found_for_other_tenant(other_api, "get", url)
    assert_not_found_for_other_tenant(other_api, "post", f"{base}/retry-failed")
    assert other_api.get("/api/v1/syncs").json()["results"] == []
    # A transaction of another sync (of the same organisation) is not this sync's.
    other_sync = start(api, document_ids=[approved[1].pk]).json()
    other_items = api.get(f"/api/v1/syncs/{other_sync['id']}/transactions").json()["results"]
    response = api.get(f"{base}/transactions/{other_items[0]['id']}")
    assert response.status_code == 404
    assert api.get("/api/v1/syncs/00000000-0000-0000-0000-000000000000").status_code == 404


def test_connections_list_read_and_force_sync(api, other_api, org, connection, drain, unmapped):
    listed = api.get("/api/v1/connections").json()["results"]
    assert [(row["id"], row["status"], row["provider"]) for row in listed] == [
        (connection.pk, "active", "xero")
    ]
    assert "credentials" not in str(api.get(f"/api/v1/connections/{connection.pk}").json())
    response = api.post(f"/api/v1/connections/{connection.pk}/force-sync")
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["trigger"], body["initiated_by"], body["counts"]["total"]) == (
        "force",
        "API key Partner ERP",
        1,
    )
    drain()
    assert api.get(f"/api/v1/syncs/{body['id']}").json()["status_code"] == 4000

    assert_not_found_for_other_tenant(other_api, "get", f"/api/v1/connections/{connection.pk}")
    assert_not_found_for_other_tenant(
        other_api, "post", f"/api/v1/connections/{connection.pk}/force-sync"
    )
    disabled = Connection.objects.create(
        org=org, provider=Provider.XERO, name="Old", status=ConnectionStatus.DISABLED
    )
    refused = api.post(f"/api/v1/connections/{disabled.pk}/force-sync")
    assert refused.status_code == 400
    assert "active connection" in refused.json()["error"]["message"]


def test_syncs_need_a_key(anonymous, approved):
    assert anonymous.get("/api/v1/syncs").status_code == 401
    assert start(anonymous, document_ids=[approved[0].pk]).status_code == 401
    assert anonymous.get("/api/v1/connections").status_code == 401
    assert not SyncRun.objects.filter(trigger=Trigger.API).exists()


def test_status_code_labels_cover_the_design(api):
    assert {code.value for code in StatusCode} >= {1000, 1010, 2000, 2040, 4000, 5080, 5130}


def test_a_failure_fixed_since_leaves_the_sync_counts_and_retry_in_agreement(
    api, approved, unmapped, connection, drain, category
):
    """Issue 12 item 6: PATCH the failed document so that it goes through; the sync it failed
    in then reads as fixed, not as a failure whose retry answers "no failed items"."""
    sync = start(api, document_ids=[approved[0].pk, unmapped.pk]).json()
    drain()
    before = api.get(f"/api/v1/syncs/{sync['id']}").json()
    assert (before["status_code"], before["counts"]["failed"]) == (4000, 1)

    # The partner fixes the document: a mapped category. Its automatic push succeeds.
    fixed = api.patch(f"/api/v1/documents/{unmapped.pk}", {"category": category.pk}, format="json")
    assert fixed.status_code == 200, fixed.content
    drain()

    after = api.get(f"/api/v1/syncs/{sync['id']}").json()
    assert after["counts"] == {
        "total": 2,
        "pushed": 0,
        "nothing_to_push": 1,
        "failed": 0,
        "resolved": 1,
        "pending": 0,
    }
    assert (after["status_code"], after["finished"]) == (2000, True)
    items = api.get(f"/api/v1/syncs/{sync['id']}/transactions", {"document": unmapped.pk})
    (item,) = items.json()["results"]
    assert (item["status"], item["error"]) == ("resolved", None)
    assert (
        api.get(f"/api/v1/syncs/{sync['id']}/transactions", {"status": "failed"}).json()["results"]
        == []
    )
    # Nothing is left to retry, and the sync says so too.
    retry = api.post(f"/api/v1/syncs/{sync['id']}/retry-failed")
    assert retry.status_code == 400
    assert retry.json()["error"]["message"] == "This sync has no failed items."
    assert SyncRun.objects.filter(retry_of__public_id=sync["id"]).count() == 0


def test_a_failure_marked_complete_by_hand_is_fixed_in_its_sync(
    api, approved, unmapped, connection, drain
):
    sync = start(api, document_ids=[unmapped.pk]).json()
    drain()
    record_id = api.get(f"/api/v1/syncs/{sync['id']}/transactions").json()["results"][0][
        "record_id"
    ]
    marked = api.post(
        "/api/v1/sync-records/update-status",
        {"ids": [record_id], "status": "complete"},
        format="json",
    )
    assert marked.status_code == 200, marked.content
    after = api.get(f"/api/v1/syncs/{sync['id']}").json()
    assert (after["status_code"], after["counts"]["failed"], after["counts"]["resolved"]) == (
        2000,
        0,
        1,
    )
    assert api.post(f"/api/v1/syncs/{sync['id']}/retry-failed").status_code == 400


def test_a_sync_after_the_ledger_revoked_access_ends_4220_with_the_reconnect_hint(
    api, approved, connection, drain, ledger, org, settings, webhook_tasks
):
    """Issue 12 item 7: the ledger revokes our tokens; a sync started then ends 4220 (it stayed
    1000 with pending transactions and no error), says how to fix it, and sends sync.failed.
    After the reconnect its entries go through and it reads as fixed."""
    from integrations import services as integration_services
    from tests.ledger_fixtures import credentials_from_token
    from webhooks import services as webhook_services
    from webhooks.models import WebhookMessage

    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    webhook_services.webhook_endpoint_create(
        org=org, url="http://127.0.0.1:9/hooks", events=["sync.failed", "sync.completed"]
    )
    for document in approved:  # changed since their last push: each has something to send
        document_services.document_update(
            document=document,
            actor=None,
            data={"due_date": document.due_date + datetime.timedelta(days=7)},
        )
    ledger.revoke_tokens()  # the emulator's control API: POST /_control/tokens/revoke

    sync = start(api, document_ids=[d.pk for d in approved]).json()
    drain()
    body = api.get(f"/api/v1/syncs/{sync['id']}").json()
    assert (body["status_code"], body["finished"]) == (4220, True)
    assert body["counts"]["failed"] == 3 and body["counts"]["pending"] == 0
    transactions = api.get(f"/api/v1/syncs/{sync['id']}/transactions").json()["results"]
    assert [(t["status"], t["status_code"]) for t in transactions] == [("failed", 4220)] * 3
    for transaction in transactions:
        assert transaction["error"]["status_code"] == 4220
        assert "reconnect" in transaction["error"]["hint"].lower()
    messages = WebhookMessage.objects.filter(event_type="sync.failed")
    assert [(m.payload["id"], m.payload["status_code"]) for m in messages] == [(sync["id"], 4220)]
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_REAUTH
    # The records wait for the reconnect (Pending), they are not given up.
    records = api.get("/api/v1/sync-records", {"status": "pending"}).json()["results"]
    assert {r["last_error"]["status_code"] for r in records} == {4220} and len(records) == 3

    # A second sync while it waits ends at once with the same answer.
    second = start(api, document_ids=[approved[0].pk]).json()
    drain()
    assert api.get(f"/api/v1/syncs/{second['id']}").json()["status_code"] == 4220

    # The admin reconnects: the entries go through, and both syncs read as fixed since.
    integration_services.connection_credentials_save(
        connection=connection, credentials=credentials_from_token(ledger.connect())
    )
    integration_services.connection_test(connection=connection)
    drain()
    after = api.get(f"/api/v1/syncs/{sync['id']}").json()
    assert (after["status_code"], after["counts"]["failed"], after["counts"]["resolved"]) == (
        2000,
        0,
        3,
    )


def test_a_failed_bills_payments_wait_for_it_and_its_retry_takes_them_along(
    api, org, unmapped, connection, drain
):
    """A paid bill whose bill fails: its payments are not failures of their own (pending,
    waits_for_bill); the sync counts them with the bill's cause, and retry-failed pushes the
    bill and them in one sync."""
    for day in ("2026-11-05", "2026-11-06"):
        document_services.payment_record(document=unmapped, actor=None, amount="10.00", paid_at=day)
    sync = start(api, document_ids=[unmapped.pk]).json()
    drain()
    assert api.get(f"/api/v1/syncs/{sync['id']}").json()["status_code"] == 4000
    records = api.get("/api/v1/sync-records", {"status": "pending"}).json()["results"]
    payments = [r for r in records if r["document"] == unmapped.pk]
    assert [(r["entry_type"], r["waits_for_bill"]) for r in payments] == [
        ("bill_payment", True),
        ("bill_payment", True),
    ]
    assert all(
        r["last_error"]["message"].startswith("Waits for its bill entry, which failed:")
        for r in payments
    )
    failed = api.get(f"/api/v1/syncs/{sync['id']}/transactions", {"status": "failed"}).json()
    messages = sorted(item["error"]["message"] for item in failed["results"])
    assert messages[0] == "Category Travel has no Xero mapping."
    assert (
        all(m.startswith("Waits for its bill entry") for m in messages[1:]) and len(messages) == 3
    )

    map_to_account(connection, unmapped.category)
    retry = api.post(f"/api/v1/syncs/{sync['id']}/retry-failed").json()
    assert retry["counts"]["total"] == 3
    drain()
    done = api.get(f"/api/v1/syncs/{retry['id']}").json()
    assert (done["status_code"], done["counts"]["pushed"]) == (2000, 3)
    first = api.get(f"/api/v1/syncs/{sync['id']}").json()
    assert (first["counts"]["failed"], first["counts"]["resolved"]) == (0, 3)
