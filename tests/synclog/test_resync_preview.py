"""The re-sync preview (issue 17, item 1) on each ledger's emulator in process: what a re-sync
will change, per entry and field by field, read through the connector (one batched read for a
bulk selection) and decided by the push's own rules; nothing is written, here or there."""

import datetime
from decimal import Decimal

import pytest

from documents import services as document_services
from integrations import services as integration_services
from integrations.models import LockedPeriodPolicy, Provider
from synclog.models import RecordStatus, SyncRecord
from synclog.selectors.preview import (
    PreviewAction,
    bulk_resync_preview,
    document_resync_preview,
)
from tests.factories import CategoryFactory, DocumentFactory
from tests.ledger_fixtures import LEDGERS
from tests.synclog.conftest import bill_record

pytestmark = [pytest.mark.django_db, pytest.mark.parametrize("provider", LEDGERS)]


def requests(ledger_books) -> list[dict]:
    return ledger_books.emulator.state()["requests"]


def changes(entry) -> dict:
    return {change.field: (change.there, change.here) for change in entry.changes}


def test_an_entry_not_in_the_ledger_is_a_create_with_its_fields_and_no_call(
    approved_bill, connection, ledger_books
):
    start = len(requests(ledger_books))
    preview = document_resync_preview(document=approved_bill, connection=connection, entry="bill")
    [entry] = preview.entries
    assert entry.action == PreviewAction.CREATE
    fields = changes(entry)
    assert fields["number"] == (None, approved_bill.number)
    assert fields["total"] == (None, Decimal("100.00"))
    assert fields["due date"] == (None, approved_bill.due_date)
    assert fields["line 1"][0] is None
    assert preview.ledger_error is None
    assert len(requests(ledger_books)) == start  # nothing to read for a create


def test_a_due_date_changed_in_the_ledger_shows_there_and_here_and_nothing_is_sent(
    approved_bill, connection, ledger_books, drain
):
    drain()
    record = bill_record(approved_bill)
    ledger_books.change_due_date(record.external_id, datetime.date(2027, 3, 31))
    writes = len(ledger_books.writes())
    version = record.version

    preview = document_resync_preview(document=approved_bill, connection=connection, entry="bill")

    [entry] = preview.entries
    assert entry.action == PreviewAction.UPDATE
    assert changes(entry) == {"due date": (datetime.date(2027, 3, 31), approved_bill.due_date)}
    # A preview writes nothing: not in the ledger, not on the record.
    assert len(ledger_books.writes()) == writes
    record.refresh_from_db()
    assert (record.status, record.version) == (RecordStatus.COMPLETE, version)


def test_an_entry_the_ledger_holds_as_the_document_says_is_unchanged(
    approved_bill, connection, drain
):
    drain()
    preview = document_resync_preview(document=approved_bill, connection=connection, entry="bill")
    [entry] = preview.entries
    assert (entry.action, entry.changes) == (PreviewAction.UNCHANGED, [])


def test_a_changed_booked_entry_is_refused_with_what_would_not_change(
    approved_bill, connection, ledger_books, drain, clerk, provider
):
    drain()
    record = bill_record(approved_bill)
    ledger_books.book(record.external_id)
    document_services.document_update(
        document=approved_bill, actor=clerk, data={"due_date": datetime.date(2026, 12, 24)}
    )
    preview = document_resync_preview(document=approved_bill, connection=connection, entry="bill")
    [entry] = preview.entries
    if provider == Provider.MYOB:
        # MYOB books by its lock date, which its entries do not carry: until the connection
        # reads it (on connect, by beat), the preview, like the push, expects an update...
        assert entry.action == PreviewAction.UPDATE
        # ...and once read, the entry is held by the period-lock pre-flight (item 2).
        integration_services.connection_lock_date_refresh(connection=connection)
        [entry] = document_resync_preview(
            document=approved_bill, connection=connection, entry="bill"
        ).entries
        assert entry.action == PreviewAction.HELD
        return
    assert entry.action == PreviewAction.REFUSED
    assert entry.reason.startswith(f"booked in {ledger_books.display_name}")
    assert changes(entry)["due date"][1] == datetime.date(2026, 12, 24)
    assert entry.booked_on is not None
    assert f" on {entry.booked_on.isoformat()}" in entry.reason


def test_the_payment_entry_is_a_create_after_its_bill(approved_bill, connection, clerk):
    document_services.payment_record(
        document=approved_bill, actor=clerk, amount="100.00", paid_at="2026-11-05"
    )
    approved_bill.refresh_from_db()  # paid now
    preview = document_resync_preview(
        document=approved_bill, connection=connection, entry="payment"
    )
    [entry] = preview.entries
    assert entry.action == PreviewAction.CREATE
    assert changes(entry)["amount"] == (None, Decimal("100.00"))
    assert "after the bill entry" in entry.note


def test_a_payment_deleted_or_voided_in_the_ledger_is_a_create_of_a_new_one(
    approved_bill, connection, clerk, drain
):
    """Seen on the demo walk: a payment voided in QuickBooks previewed as "In QuickBooks Online
    already: ... never changed", then the confirmed re-sync created a new BillPayment."""
    document_services.payment_record(
        document=approved_bill, actor=clerk, amount="100.00", paid_at="2026-11-05"
    )
    drain()
    record = SyncRecord.objects.get(document=approved_bill, payment__isnull=False)
    assert record.status == RecordStatus.COMPLETE and record.external_id
    ledger = connection.get_provider_display()
    # What the reconcile leaves on a payment it found voided (or deleted) there.
    SyncRecord.objects.filter(pk=record.pk).update(
        status=RecordStatus.FAILED,
        payment_deleted_in_ledger=True,
        last_error_message=f"Payment voided in {ledger}",
    )
    approved_bill.refresh_from_db()
    preview = document_resync_preview(
        document=approved_bill, connection=connection, entry="payment"
    )
    [entry] = preview.entries
    assert entry.action == PreviewAction.CREATE
    assert changes(entry)["amount"] == (None, Decimal("100.00"))
    assert entry.note == f"Payment voided in {ledger}: it is pushed to {ledger} as a new payment."


def test_a_missing_mapping_is_named_before_any_call(
    org, approved_bill, connection, ledger_books, clerk
):
    unmapped = CategoryFactory(org=org, name="Travel", code="999")
    document_services.document_update(
        document=approved_bill, actor=clerk, data={"category": unmapped}
    )
    start = len(requests(ledger_books))
    [entry] = document_resync_preview(
        document=approved_bill, connection=connection, entry="bill"
    ).entries
    assert entry.action == PreviewAction.CANNOT
    assert "Category Travel" in entry.reason
    assert len(requests(ledger_books)) == start


def test_a_ledger_that_does_not_answer_is_said_not_raised(
    approved_bill, connection, ledger_books, drain
):
    drain()
    ledger_books.set_faults(fail_next={"count": 5, "status": 503})
    preview = document_resync_preview(document=approved_bill, connection=connection, entry="bill")
    assert preview.ledger_error is not None
    [entry] = preview.entries
    assert entry.action == PreviewAction.UNREAD


def test_a_bulk_selection_is_read_in_one_call_and_bounded(
    org, connection, ledger_books, drain, clerk, vendor, office, provider
):
    bills = [
        DocumentFactory(org=org, contact=vendor, category=office, number=f"B-{n}") for n in range(5)
    ]
    for bill in bills:
        document_services.document_approve(document=bill, actor=clerk)
    drain()
    fresh = DocumentFactory(org=org, contact=vendor, category=office, number="B-NEW")
    document_services.document_approve(document=fresh, actor=clerk)
    ledger_books.change_due_date(bill_record(bills[0]).external_id, datetime.date(2027, 3, 31))
    document_services.document_update(
        document=bills[1], actor=clerk, data={"due_date": datetime.date(2026, 12, 24)}
    )
    drain()  # the edit is pushed: bills[1] is unchanged since
    ids = [bill.pk for bill in bills] + [fresh.pk]
    start = len(requests(ledger_books))

    [preview] = bulk_resync_preview(org=org, document_ids=ids, limit=4)

    assert (preview.documents_shown, preview.documents_more) == (4, 2)
    by_number = {entry.document.number: entry for entry in preview.entries}
    assert set(by_number) == {"B-0", "B-1", "B-2", "B-3"}
    # Unchanged since its last push, a bulk run sends nothing for B-0: the preview says that
    # the ledger holds it otherwise, and that a re-sync of the document alone repairs it.
    assert by_number["B-0"].action == PreviewAction.UNCHANGED
    moved = (datetime.date(2027, 3, 31), bills[0].due_date)
    assert changes(by_number["B-0"]) == {"due date": moved}
    assert "re-sync this document alone" in by_number["B-0"].note
    assert by_number["B-1"].action == PreviewAction.UNCHANGED
    reads = requests(ledger_books)[start:]
    calls = [f"{r['method']} {r['path'].rsplit('/', 1)[-1]}" for r in reads]
    if provider == Provider.XERO:  # GET /Invoices?IDs=…
        assert calls == ["GET Invoices"]
    elif provider == Provider.QUICKBOOKS:  # select … where Id in (…), and the books' close date
        assert calls == ["POST query", "GET preferences"]
    else:  # MYOB has no batch read: one GET per entry shown
        assert [call.split()[0] for call in calls] == ["GET"] * 4
    assert preview.counts["unchanged"] == 4


def test_a_bulk_preview_of_new_documents_reads_nothing(
    org, connection, ledger_books, clerk, vendor, office
):
    bills = [DocumentFactory(org=org, contact=vendor, category=office) for _ in range(3)]
    for bill in bills:
        document_services.document_approve(document=bill, actor=clerk)
    start = len(requests(ledger_books))
    [preview] = bulk_resync_preview(org=org, document_ids=[b.pk for b in bills])
    assert [e.action for e in preview.entries] == [PreviewAction.CREATE] * 3
    assert preview.documents_more == 0
    assert len(requests(ledger_books)) == start


def test_a_bulk_preview_of_a_known_booked_entry_is_refused_without_a_read(
    approved_bill, connection, ledger_books, drain, clerk
):
    drain()
    record = bill_record(approved_bill)
    SyncRecord.objects.filter(pk=record.pk).update(booked=True)
    document_services.document_update(
        document=approved_bill, actor=clerk, data={"due_date": datetime.date(2026, 12, 24)}
    )
    ledger_books.set_faults(fail_next={"count": 5, "status": 503})
    [preview] = bulk_resync_preview(org=approved_bill.org, document_ids=[approved_bill.pk])
    [entry] = preview.entries
    # The ledger could not be read, but the push's own rule needs no read here.
    assert entry.action == PreviewAction.REFUSED


def test_a_payment_whose_bill_entry_failed_waits_for_it(
    org, approved_bill, connection, ledger_books, clerk, drain
):
    unmapped = CategoryFactory(org=org, name="Travel", code="999")
    document_services.document_update(
        document=approved_bill, actor=clerk, data={"category": unmapped}
    )
    drain()
    assert bill_record(approved_bill).status == RecordStatus.FAILED
    document_services.payment_record(
        document=approved_bill, actor=clerk, amount="100.00", paid_at="2026-11-05"
    )
    approved_bill.refresh_from_db()
    [entry] = document_resync_preview(
        document=approved_bill, connection=connection, entry="payment"
    ).entries
    assert entry.action == PreviewAction.WAITS
    assert "bill entry failed" in entry.reason
    # A re-sync of the bill takes its payment with it: the bill cannot be built yet.
    [bill, payment] = bulk_resync_preview(org=org, document_ids=[approved_bill.pk])[0].entries
    assert (bill.action, payment.action) == (PreviewAction.CANNOT, PreviewAction.CREATE)


def test_an_entry_dated_in_the_locked_period_is_held_or_redated_as_the_push_would(
    approved_bill, connection, drain, clerk, ledger_books
):
    drain()
    document_services.document_update(
        document=approved_bill, actor=clerk, data={"due_date": datetime.date(2026, 12, 24)}
    )
    connection.lock_date = approved_bill.issue_date
    connection.save(update_fields=["lock_date"])
    [entry] = document_resync_preview(
        document=approved_bill, connection=connection, entry="bill"
    ).entries
    # In the ledger already: an entry in a locked period takes no change, whatever the policy.
    assert (entry.action, entry.held_until) == (PreviewAction.HELD, approved_bill.issue_date)
    assert entry.reason.startswith("Locked until ")
    [preview] = bulk_resync_preview(org=approved_bill.org, document_ids=[approved_bill.pk])
    assert preview.counts["held"] == 1


def test_a_new_entry_in_the_locked_period_is_redated_when_the_policy_says_so(
    approved_bill, connection, ledger_books
):
    connection.lock_date = approved_bill.issue_date
    connection.locked_period_policy = LockedPeriodPolicy.REDATE
    connection.save(update_fields=["lock_date", "locked_period_policy"])
    [entry] = document_resync_preview(
        document=approved_bill, connection=connection, entry="bill"
    ).entries
    first_open = approved_bill.issue_date + datetime.timedelta(days=1)
    assert entry.action == PreviewAction.CREATE
    assert changes(entry)["issue date"] == (None, first_open)
    assert f"re-dated {approved_bill.issue_date.isoformat()}" in entry.note


def test_a_partly_paid_entry_is_refused_with_what_is_paid_against_it(
    approved_bill, connection, drain, clerk, provider
):
    """Seen on the demo: "refused: booked in Xero on … (AUTHORISED)", which reads as open. MYOB
    refuses a change to a bill with a payment applied too: its preview said "update"."""
    if provider == Provider.QUICKBOOKS:
        pytest.skip("QuickBooks takes a change to a partly paid bill: the preview updates it")
    document_services.payment_record(
        document=approved_bill, actor=clerk, amount="40.00", paid_at="2026-11-05"
    )
    drain()
    document_services.document_update(
        document=approved_bill, actor=clerk, data={"due_date": datetime.date(2026, 12, 24)}
    )
    preview = document_resync_preview(document=approved_bill, connection=connection, entry="bill")
    [entry] = preview.entries
    assert entry.action == PreviewAction.REFUSED, entry.reason
    assert "(40.00 paid against it): " in entry.reason
