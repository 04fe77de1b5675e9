"""A manual re-sync compares the document with what the ledger holds now (issue 12, items 3
and 4): an entry changed in Xero behind our back is repaired, one voided there says so and
offers a way out that works, and nothing is ever doubled. Ledger calls are counted at the
emulator."""

import datetime

from documents import services as document_services
from synclog import services
from synclog.models import Operation, RecordStatus, StatusCode, SyncRecord
from tests.synclog.conftest import bill_record


def calls_since(ledger, start: int) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in ledger.state()["requests"][start:]]


def test_manual_resync_repairs_a_due_date_changed_in_the_ledger(
    approved_bill, drain, ledger, connection, clerk
):
    drain()
    record = bill_record(approved_bill)
    ledger.edit_invoice(record.external_id, {"DueDate": "2027-01-31"})
    start = len(ledger.state()["requests"])

    services.resync(document=approved_bill, connection=connection, entry="bill", actor=clerk)
    drain()

    entry = f"/api.xro/2.0/Invoices/{record.external_id}"
    assert calls_since(ledger, start) == [f"GET {entry}", f"POST {entry}"]
    assert ledger.invoice(record.external_id)["DueDate"] == ledger_date(approved_bill.due_date)
    attempt = bill_record(approved_bill).attempts.first()
    assert (attempt.operation, attempt.status_code) == (Operation.UPDATE, StatusCode.SUCCESS)
    assert len(ledger.invoices()) == 1


def test_manual_resync_of_an_entry_the_ledger_still_holds_reads_it_and_writes_nothing(
    approved_bill, drain, ledger, connection, clerk
):
    drain()
    record = bill_record(approved_bill)
    start = len(ledger.state()["requests"])
    services.resync(document=approved_bill, connection=connection, entry="bill", actor=clerk)
    drain()
    assert calls_since(ledger, start) == [f"GET /api.xro/2.0/Invoices/{record.external_id}"]
    attempt = bill_record(approved_bill).attempts.first()
    assert (attempt.operation, attempt.status_code) == (
        Operation.NOTHING_TO_PUSH,
        StatusCode.NOTHING_TO_PUSH,
    )


def test_automatic_pushes_keep_the_hash_shortcut(approved_bill, drain, ledger, clerk):
    drain()
    ledger.edit_invoice(bill_record(approved_bill).external_id, {"DueDate": "2027-01-31"})
    start = len(ledger.state()["requests"])
    document_services.document_update(
        document=approved_bill, actor=clerk, data={"description": "not held by the ledger"}
    )
    document_services.document_update(document=approved_bill, actor=clerk, data={"number": "INV-2"})
    drain()
    # One write, no read: the change goes as an update of the linked entry.
    assert [call.split()[0] for call in calls_since(ledger, start)] == ["POST"]


def test_a_drifted_paid_entry_is_explained_without_a_refused_write(
    approved_bill, drain, ledger, connection, clerk
):
    drain()
    record = bill_record(approved_bill)
    ledger.edit_invoice(record.external_id, {"DueDate": "2027-01-31"})
    ledger.book_invoice(record.external_id)
    start = len(ledger.state()["requests"])

    services.resync(document=approved_bill, connection=connection, entry="bill", actor=clerk)
    drain()

    assert calls_since(ledger, start) == [f"GET /api.xro/2.0/Invoices/{record.external_id}"]
    record.refresh_from_db()
    assert record.status == RecordStatus.FAILED
    assert record.last_error_code == StatusCode.DATA_PUSH
    assert "PAID" in record.last_error_message
    assert "due date 2027-01-31 there" in record.last_error_message
    assert "remove the payment" in record.last_error_hint


def test_a_bill_voided_in_the_ledger_is_shown_and_pushed_as_a_new_entry_once_confirmed(
    approved_bill, drain, ledger, connection, clerk
):
    drain()
    record = bill_record(approved_bill)
    old_id = record.external_id
    ledger.void_invoice(old_id)
    document_services.payment_record(
        document=approved_bill, actor=clerk, amount="100.00", paid_at="2026-11-05"
    )
    drain()

    # The payment is refused; the bill entry no longer reads Complete.
    payment = SyncRecord.objects.get(document=approved_bill, payment__isnull=False)
    assert payment.status == RecordStatus.FAILED
    assert "Push" not in payment.last_error_message
    assert "push the bill entry as a new entry" in payment.last_error_hint
    record.refresh_from_db()
    assert (record.status, record.last_error_message, record.ledger_gone) == (
        RecordStatus.FAILED,
        "Voided in Xero",
        True,
    )
    assert "Push as a new entry" in record.last_error_hint
    assert "re-sync" not in record.last_error_hint.lower()

    # Re-syncing the bill says the same, and writes nothing.
    start = len(ledger.state()["requests"])
    services.resync(document=approved_bill, connection=connection, entry="bill", actor=clerk)
    drain()
    assert calls_since(ledger, start) == [f"GET /api.xro/2.0/Invoices/{old_id}"]
    record.refresh_from_db()
    assert (record.status, record.last_error_message) == (RecordStatus.FAILED, "Voided in Xero")

    # The way out: a new entry, then its payment; the voided one is left alone.
    services.resync_as_new_entry(document=approved_bill, connection=connection, actor=clerk)
    drain()
    record.refresh_from_db()
    payment.refresh_from_db()
    assert (record.status, payment.status) == (RecordStatus.COMPLETE, RecordStatus.COMPLETE)
    assert record.external_id != old_id
    assert ledger.invoice(old_id)["Status"] == "VOIDED"
    assert ledger.invoice(record.external_id)["Status"] == "PAID"
    assert len(ledger.invoices()) == 2

    # Confirmed twice (a second click, a retry): still one new entry.
    services.resync(document=approved_bill, connection=connection, entry="bill", actor=clerk)
    drain()
    assert len(ledger.invoices()) == 2


def test_push_as_new_entry_is_refused_while_the_entry_is_live(
    approved_bill, drain, ledger, connection, clerk
):
    import pytest
    from django.core.exceptions import ValidationError

    drain()
    with pytest.raises(ValidationError):
        services.resync_as_new_entry(document=approved_bill, connection=connection, actor=clerk)
    assert len(ledger.invoices()) == 1


def ledger_date(day: datetime.date) -> str:
    epoch = datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.UTC).timestamp()
    return f"/Date({int(epoch * 1000)}+0000)/"
