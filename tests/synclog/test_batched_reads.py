"""Issue 13, item 3: every call counts. A bulk re-sync of entries whose payload changed reads
them in one call (Xero: GET /Invoices?IDs=…, a page with their line items), then writes only
what the ledger does not hold already, in one call: an entry that already matches costs no
write, one paid or voided in the ledger fails with the reason and no refused write. Calls are
counted at the in-process emulator."""

import datetime
from urllib.parse import parse_qs

from documents import services as document_services
from synclog import services
from synclog.models import Operation, RecordStatus, StatusCode
from tests.factories import DocumentFactory
from tests.synclog.conftest import bill_record, pending_ids
from tests.synclog.test_booked_runs import map_vendor_to_its_contact


def test_a_bulk_resync_reads_changed_entries_in_one_call_and_writes_only_what_differs(
    org, clerk, vendor, office, connection, ledger, drain
):
    bills = []
    for index in range(5):
        bill = DocumentFactory(org=org, contact=vendor, category=office, number=f"READ-{index}")
        document_services.document_approve(document=bill, actor=clerk)
        bills.append(bill)
    drain()
    entry_ids = [bill_record(bill).external_id for bill in bills]
    # The admin maps the vendor to the contact Xero made: every bill's payload changes (the
    # contact goes by id instead of by name), while what Xero holds stays the same.
    map_vendor_to_its_contact(connection, vendor)
    new_due = datetime.date(2027, 1, 31)
    # One bill's due date changes here; another's too, but that one was paid in Xero meanwhile;
    # a third was voided in Xero.
    for bill in (bills[1], bills[2]):
        document_services.document_update(document=bill, actor=clerk, data={"due_date": new_due})
    ledger.book_invoice(entry_ids[2])
    ledger.void_invoice(entry_ids[3])
    start = len(ledger.state()["requests"])
    calls_before = ledger.call_count()

    (run,) = services.bulk_resync(org=org, document_ids=[b.pk for b in bills], actor=clerk)
    services.sync_batch_push(record_ids=pending_ids(), worker="w")

    requests = ledger.state()["requests"][start:]
    assert [(r["method"], r["path"]) for r in requests] == [
        ("GET", "/api.xro/2.0/Invoices"),
        ("POST", "/api.xro/2.0/Invoices"),
    ]
    assert ledger.call_count() - calls_before == 2
    read = parse_qs(requests[0]["query"])
    assert sorted(read["IDs"][0].split(",")) == sorted(entry_ids)
    assert read["page"] == ["1"]

    records = [bill_record(bill) for bill in bills]
    outcomes = [(r.status, r.attempts.first().operation, r.last_error_code) for r in records]
    assert outcomes[0] == (RecordStatus.COMPLETE, Operation.NOTHING_TO_PUSH, None)
    assert outcomes[1] == (RecordStatus.COMPLETE, Operation.UPDATE, None)
    assert outcomes[4] == (RecordStatus.COMPLETE, Operation.NOTHING_TO_PUSH, None)
    assert records[0].attempts.first().status_code == StatusCode.NOTHING_TO_PUSH
    assert records[2].status == RecordStatus.FAILED
    assert "PAID" in records[2].last_error_message
    assert "due date" in records[2].last_error_message
    assert records[3].status == RecordStatus.FAILED
    assert records[3].last_error_message == "Voided in Xero"
    assert records[3].ledger_gone
    # Only the bill that differs was written; the paid one kept its due date in Xero.
    assert ledger.invoice(entry_ids[1])["DueDate"].startswith("/Date(1801353600000")
    assert ledger.invoice(entry_ids[2])["DueDate"] != ledger.invoice(entry_ids[1])["DueDate"]
    assert len(ledger.invoices()) == 5
    # Each document's log shows the read, and the updated one its own element of the write.
    read_call, write_call = records[1].attempts.first().calls
    assert read_call["method"] == "GET" and write_call["method"] == "POST"
    assert "READ-1" in write_call["request_body"] and "READ-0" not in write_call["request_body"]
    assert [c["method"] for c in records[0].attempts.first().calls] == ["GET"]
    # A second bulk re-sync finds every payload as pushed: no call at all.
    services.bulk_resync(org=org, document_ids=[bills[0].pk, bills[1].pk], actor=clerk)
    services.sync_batch_push(record_ids=pending_ids(), worker="w")
    assert ledger.call_count() - calls_before == 2
