"""Issue 12, item 5, as reproduced on `make run`: the demo's bills were pushed and paid, the admin
then mapped the vendors to their Xero contacts (which changes every bill's payload: the contact
goes by id instead of by name) and a paid bill's number was PATCHed over the API. The edit costs
one refused call. But each bulk run after it (POST /syncs, Force sync, retry of the failed items)
sent an update of every paid bill, and Xero refused each one: 105 refused
`POST /Invoices/{id}` in one run of the demo, and as many again at every Force sync.

An entry an earlier push found booked costs no call in such runs: the record is Failed with the
explanation at once. Calls are counted at the in-process emulator."""

import httpx
import pytest

from documents import services as document_services
from integrations import services as integration_services
from integrations.models import MappingKind
from synclog import services
from synclog.models import (
    Operation,
    RecordStatus,
    RunItemOutcome,
    StatusCode,
    SyncRecord,
    SyncRun,
    SyncRunItem,
)
from tests.api.conftest import api, created_key  # noqa: F401
from tests.factories import DocumentFactory
from tests.synclog.conftest import pending_ids


def refused_calls(ledger, start: int) -> list[str]:
    return [
        f"{r['method']} {r['path']}"
        for r in ledger.state()["requests"][start:]
        if r["method"] != "GET" and r["status"] >= 400
    ]


def ledger_writes(ledger, start: int) -> int:
    return sum(1 for r in ledger.state()["requests"][start:] if r["method"] != "GET")


@pytest.fixture
def paid_bills(org, clerk, vendor, office, connection, drain):
    """Four bills pushed to Xero and paid there (their entries are booked)."""
    bills = []
    for index in range(4):
        bill = DocumentFactory(org=org, contact=vendor, category=office, number=f"PAID-{index}")
        document_services.document_approve(document=bill, actor=clerk)
        bills.append(bill)
    drain()
    for bill in bills:
        document_services.payment_record(
            document=bill, actor=clerk, amount=bill.total, paid_at="2026-11-05"
        )
    drain()
    assert SyncRecord.objects.filter(payment__isnull=True, booked=True).count() == 4
    return bills


def map_vendor_to_its_contact(connection, vendor):
    """What the admin did on the Mappings page: Vendors → contacts, the contact Xero made."""
    (contact,) = [
        c
        for c in integration_services.connector_for(connection).list_contacts()
        if c.name == vendor.name
    ]
    integration_services.mapping_set(
        connection=connection,
        kind=MappingKind.CONTACT,
        local_id=vendor.pk,
        external_id=contact.external_id,
        external_name=contact.name,
    )


def push_batches():
    """The bulk worker: the run's records as one batch (updates take the one-record path)."""
    services.sync_batch_push(record_ids=pending_ids(), worker="w")


@pytest.mark.parametrize("worker", ["batch", "one record at a time"])
def test_bulk_runs_after_a_paid_bill_was_edited_send_nothing_the_ledger_will_refuse(
    api,  # noqa: F811
    paid_bills,
    connection,
    vendor,
    ledger,
    drain,
    worker,
):
    push = push_batches if worker == "batch" else drain
    map_vendor_to_its_contact(connection, vendor)
    edited = paid_bills[0]
    start = len(ledger.state()["requests"])

    response = api.patch(f"/api/v1/documents/{edited.pk}", {"number": "PAID-0-X"}, format="json")
    assert response.status_code == 200
    drain()
    # The edit itself: one call, refused, Failed with Xero's words.
    edited_record = SyncRecord.objects.get(document=edited, payment__isnull=True)
    assert refused_calls(ledger, start) == [
        f"POST /api.xro/2.0/Invoices/{edited_record.external_id}"
    ]
    after_edit = len(ledger.state()["requests"])

    # A bulk re-sync of every bill over the API, then Force sync, then a retry of what failed.
    response = api.post(
        "/api/v1/syncs", {"document_ids": [b.pk for b in paid_bills]}, format="json"
    )
    assert response.status_code == 202, response.content
    bulk = SyncRun.objects.get(public_id=response.json()["id"])
    push()
    response = api.post(f"/api/v1/connections/{connection.pk}/force-sync")
    assert response.status_code == 202, response.content
    force = SyncRun.objects.get(public_id=response.json()["id"])
    push()
    response = api.post(f"/api/v1/syncs/{bulk.public_id}/retry-failed")
    assert response.status_code == 202, response.content
    push()

    # Not one call for entries known to be booked: before, one refused POST per bill per run.
    assert ledger_writes(ledger, after_edit) == 0
    for run in (bulk, force):
        run.refresh_from_db()
        assert (run.status_code, run.failed) == (StatusCode.DATA_PUSH, 4)
    records = SyncRecord.objects.filter(payment__isnull=True).order_by("pk")
    assert [(r.status, r.last_error_code) for r in records] == [
        (RecordStatus.FAILED, StatusCode.DATA_PUSH)
    ] * 4
    for record in records:
        assert "paid, voided or otherwise closed in Xero" in record.last_error_explanation
        assert "did not send the change" in record.last_error_explanation
        assert "Re-sync › Bill entry" in record.last_error_hint
        attempt = record.attempts.order_by("-pk").first()
        assert (attempt.operation, attempt.calls) == (Operation.UNDECIDED, [])
    # The run's items say why, as the Sync Health page and GET /syncs/{id}/transactions show.
    items = SyncRunItem.objects.filter(run=bulk).values_list(
        "record__payment", "outcome", "status_code"
    )
    assert {(outcome, code) for payment, outcome, code in items if payment is None} == {
        (RunItemOutcome.FAILED, StatusCode.DATA_PUSH)
    }
    # The payments were pushed and have not changed: nothing to push.
    assert (
        not SyncRecord.objects.filter(payment__isnull=False)
        .exclude(status=RecordStatus.COMPLETE)
        .exists()
    )


def test_the_hint_leads_out_a_manual_re_sync_updates_an_entry_whose_payment_was_removed(
    api,  # noqa: F811
    paid_bills,
    connection,
    ledger,
    xero_transport,
    clerk,
    drain,
):
    """The hint's way out: remove the payment in Xero, then Re-sync › Bill entry. A manual
    re-sync reads the entry first, so it updates an entry that is no longer booked (and the
    record learns that it is not), where the bulk runs still trust the booked flag."""
    bill = paid_bills[0]
    api.patch(f"/api/v1/documents/{bill.pk}", {"number": "PAID-0-X"}, format="json")
    drain()
    record = SyncRecord.objects.get(document=bill, payment__isnull=True)
    assert (record.status, record.booked) == (RecordStatus.FAILED, True)
    payment = SyncRecord.objects.get(document=bill, payment__isnull=False)
    token = ledger.connect()
    with httpx.Client(transport=xero_transport, base_url="http://xero.emulator") as http:
        deleted = http.post(
            f"/api.xro/2.0/Payments/{payment.external_id}",
            json={"Status": "DELETED"},
            headers={
                "Authorization": f"Bearer {token['access_token']}",
                "xero-tenant-id": ledger.default_tenant_id,
            },
        )
    assert deleted.status_code == 200, deleted.text
    start = len(ledger.state()["requests"])

    bill.refresh_from_db()
    services.resync(document=bill, connection=connection, entry="bill", actor=clerk)
    drain()

    record.refresh_from_db()
    assert (record.status, record.booked) == (RecordStatus.COMPLETE, False)
    assert ledger.invoice(record.external_id)["InvoiceNumber"] == "PAID-0-X"
    assert [
        f"{r['method']} {r['status']}"
        for r in ledger.state()["requests"][start:]
        if r["path"].startswith("/api.xro/2.0/Invoices")
    ] == ["GET 200", "POST 200"]
