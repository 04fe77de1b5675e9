"""The bill → payment chain (issue 17, item 5) on each ledger's emulator in process: a payment
never fails because its bill is not in the ledger; while its bill fails it waits with it, and a
retry of the chain is one run that pushes the bill, then its payments in order, as the ledger's
own request log shows."""

import pytest

from documents import services as document_services
from integrations.models import Provider
from synclog import services
from synclog.models import (
    AttemptOutcome,
    RecordStatus,
    RunItemOutcome,
    StatusCode,
    SyncRecord,
    SyncRun,
    SyncRunItem,
    Trigger,
)
from tests.factories import CategoryFactory, DocumentFactory
from tests.ledger_fixtures import LEDGERS

pytestmark = [pytest.mark.django_db, pytest.mark.parametrize("provider", LEDGERS)]


def ledger_requests(ledger_books, since: int) -> list[str]:
    """The writes the ledger received after the `since`-th request of its own request log, as
    "bill" / "payment", in order (QuickBooks sends both through its batch endpoint: its write
    log names them, in the order it applied them)."""
    emulator = ledger_books.emulator
    if ledger_books.provider == Provider.QUICKBOOKS:
        return [
            "payment" if write["entity"] == "BillPayment" else "bill"
            for write in emulator.writes()[since:]
            if write["operation"] == "create"
        ]
    kinds = []
    for request in emulator.state()["requests"][since:]:
        if request["method"] not in ("PUT", "POST") or request["status"] not in (200, 201):
            continue
        if request["path"].endswith(("/Payments", "/Purchase/SupplierPayment")):
            kinds.append("payment")
        elif request["path"].endswith(("/Invoices", "/Purchase/Bill/Service")):
            kinds.append("bill")
    return kinds


def requests_so_far(ledger_books) -> int:
    emulator = ledger_books.emulator
    if ledger_books.provider == Provider.QUICKBOOKS:
        return len(emulator.writes())
    return len(emulator.state()["requests"])


def payments_in_ledger_order(ledger_books) -> list[str]:
    """Our payments' amounts, in the order the ledger took them (its write log's ids)."""
    ids = []
    for write in ledger_books.writes():
        if write.get("kind") == "payment":  # Xero
            ids.append(write["PaymentID"])
        elif write.get("entity") == "BillPayment" and write["operation"] == "create":
            ids.append(write["Id"])
        elif write.get("resource") == "Purchase/SupplierPayment" and write["action"] == "create":
            ids.append(write["UID"])
    amounts = dict(
        SyncRecord.objects.filter(external_id__in=ids).values_list("external_id", "payment__amount")
    )
    return [f"{amounts[external_id]:.2f}" for external_id in ids]


@pytest.fixture
def travel(org):
    # Made after the connection mapped the organisation's categories: not mapped (4000).
    return CategoryFactory(org=org, name="Travel", code="493")


@pytest.fixture
def chain(org, clerk, connection, vendor, travel):
    """An approved bill booked to Travel (not mapped yet) with two payments recorded."""
    document = DocumentFactory(org=org, contact=vendor, category=travel, number="TRIP-1")
    document_services.document_approve(document=document, actor=clerk)
    for amount, day in (("30.00", "2026-11-05"), ("20.00", "2026-11-06")):
        document_services.payment_record(document=document, actor=clerk, amount=amount, paid_at=day)
    return document


def records_of(document):
    bill = SyncRecord.objects.get(document=document, payment__isnull=True)
    payments = list(
        SyncRecord.objects.filter(document=document, payment__isnull=False).order_by(
            "payment__paid_at"
        )
    )
    return bill, payments


def test_payments_wait_with_their_failed_bill_and_follow_it_in_one_run(
    org, clerk, connection, chain, drain, ledger_books, enqueued, django_capture_on_commit_callbacks
):
    start = requests_so_far(ledger_books)
    drain()
    bill, payments = records_of(chain)
    assert (bill.status, bill.last_error_code) == (RecordStatus.FAILED, StatusCode.CONFIGURATION)
    for payment in payments:
        # Not failed: waiting for the bill, saying so, and nothing of it was sent.
        assert payment.status == RecordStatus.PENDING and payment.waits_for_bill
        assert payment.last_error_message == (
            f"Waits for its bill entry, which failed: {bill.last_error_message}"
        )
        (attempt,) = payment.attempts.all()
        assert (attempt.outcome, attempt.status_code, attempt.calls) == (
            AttemptOutcome.SKIPPED,
            StatusCode.CONFIGURATION,
            [],
        )
    assert ledger_requests(ledger_books, start) == []
    # Pushed again (a reconnect resends every Pending record): still waiting, logged once.
    drain()
    assert [p.attempts.count() for p in payments] == [1, 1]
    # The sweep leaves them be while their bill fails.
    enqueued.clear()
    SyncRecord.objects.update(enqueued_at=None)  # as if their tasks were lost long ago
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sync_sweep() == 0
    assert enqueued == []

    # The fix, then one retry of the chain: one run, the bill first, then each payment.
    ledger_books.map_categories(connection)
    run = services.retry_failed_records(
        org=org, connection=connection, document_ids=[chain.pk], actor=clerk
    )
    assert run.total == 3
    assert set(SyncRunItem.objects.filter(run=run).values_list("record_id", flat=True)) == {
        bill.pk,
        *(p.pk for p in payments),
    }
    start = requests_so_far(ledger_books)
    ids = [bill.pk, *(p.pk for p in payments)]
    # The run's batch, as a worker gets it (records in id order, the payments' may come first).
    assert services.sync_batch_push(record_ids=sorted(ids, reverse=True), worker="w") == {}
    # One request for the bill, then the payments (Xero takes both in one request).
    one_call = ledger_books.provider == Provider.XERO
    expected = ["bill", "payment"] if one_call else ["bill", "payment", "payment"]
    assert ledger_requests(ledger_books, start) == expected
    assert payments_in_ledger_order(ledger_books) == ["30.00", "20.00"]
    bill, payments = records_of(chain)
    assert [r.status for r in (bill, *payments)] == [RecordStatus.COMPLETE] * 3
    assert all(r.run_id == run.pk for r in (bill, *payments))
    run.refresh_from_db()
    assert (run.status_code, run.pushed, run.failed) == (StatusCode.SUCCESS, 3, 0)
    assert [b.amount_paid for b in ledger_books.bills()] == [50]


def test_a_chain_retry_takes_only_this_organisations_documents(
    org, other_org, clerk, connection, chain, drain, ledger_books
):
    drain()
    foreign = DocumentFactory(org=other_org, number="GLOBEX-1")
    run = services.retry_failed_records(
        org=org, connection=connection, document_ids=[chain.pk, foreign.pk], actor=clerk
    )
    assert set(SyncRecord.objects.filter(run=run).values_list("document_id", flat=True)) == {
        chain.pk
    }
    assert run.trigger == Trigger.RETRY and run.total == 3


def test_the_runs_that_counted_a_waiting_payment_failed_count_it_fixed_after_the_retry(
    org, clerk, connection, chain, drain, ledger_books
):
    (first,) = services.bulk_resync(org=org, document_ids=[chain.pk], actor=clerk)
    drain()
    first.refresh_from_db()
    # The bill failed, its payments wait for it: the run ends, failed with the bill's cause.
    assert (first.status_code, first.failed, first.finished_at is not None) == (
        StatusCode.CONFIGURATION,
        3,
        True,
    )
    ledger_books.map_categories(connection)
    retry = services.retry_failed(run=first, actor=clerk)
    assert retry.total == 3  # the bill and the payments waiting for it
    drain()
    first.refresh_from_db()
    retry.refresh_from_db()
    assert (retry.status_code, retry.pushed) == (StatusCode.SUCCESS, 3)
    assert (first.failed, first.resolved) == (0, 3)
    outcomes = set(SyncRunItem.objects.filter(run=first).values_list("outcome", flat=True))
    assert outcomes == {RunItemOutcome.RESOLVED}
    assert SyncRun.objects.count() == 2


def test_a_bill_reconciled_by_hand_sends_its_waiting_payments_to_a_person(
    org, clerk, connection, chain, drain, ledger_books, enqueued, django_capture_on_commit_callbacks
):
    """Marked Complete by hand, the bill has no link to its entry: its payments cannot be
    pushed onto it, and pushing the bill again could double it. They fail with what to do."""
    drain()
    bill, payments = records_of(chain)
    enqueued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.sync_status_update(
            org=org, record_ids=[bill.pk], to_status=RecordStatus.COMPLETE, actor=clerk
        )
    assert {record_id for record_id, *_ in enqueued} == {p.pk for p in payments}
    start = requests_so_far(ledger_books)
    drain()
    bill, payments = records_of(chain)
    assert (bill.status, bill.external_id) == (RecordStatus.COMPLETE, "")
    for payment in payments:
        assert payment.status == RecordStatus.FAILED
        assert payment.last_error_message.startswith("Its bill entry was marked Complete by hand")
        assert "by hand too" in payment.last_error_hint
    assert ledger_requests(ledger_books, start) == []


def test_a_bill_set_to_pending_by_hand_takes_its_waiting_payments_along(
    org, clerk, connection, chain, drain, ledger_books, enqueued, django_capture_on_commit_callbacks
):
    drain()
    bill, payments = records_of(chain)
    ledger_books.map_categories(connection)
    enqueued.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.sync_status_update(
            org=org, record_ids=[bill.pk], to_status=RecordStatus.PENDING, actor=clerk
        )
    assert {record_id for record_id, *_ in enqueued} == {bill.pk, *(p.pk for p in payments)}
    drain()
    assert {r.status for r in SyncRecord.objects.filter(document=chain)} == {RecordStatus.COMPLETE}
    assert [b.amount_paid for b in ledger_books.bills()] == [50]


def test_a_sync_of_the_payment_alone_retries_its_bill_with_it(
    org, clerk, connection, chain, drain, ledger_books
):
    """The payment entry re-synced alone while its bill fails: that sync counts the payment
    failed (it waits for the bill); its Retry failed items pushes the bill, then the payment."""
    document_services.payment_record(
        document=chain, actor=clerk, amount="50.00", paid_at="2026-11-07"
    )  # paid in full: the payment entry can be chosen
    drain()
    chain.refresh_from_db()
    run = services.resync(document=chain, connection=connection, entry="payment", actor=clerk)
    drain()
    run.refresh_from_db()
    assert (run.failed, run.finished_at is not None) == (3, True)
    ledger_books.map_categories(connection)
    retry = services.retry_failed(run=run, actor=clerk)
    assert retry.total == 4  # the bill, and its three payments after it
    drain()
    retry.refresh_from_db()
    assert (retry.status_code, retry.pushed) == (StatusCode.SUCCESS, 4)
    assert [b.amount_paid for b in ledger_books.bills()] == [100]


def test_a_payment_of_a_bill_voided_before_it_was_pushed_says_so(
    org, connection, vendor, ledger_books
):
    """Voided before its push, the bill ended with nothing to send and no entry: its payment
    has nothing to be paid on, and says that, without a call."""
    from documents.models import Payment

    document = DocumentFactory(org=org, contact=vendor, status="void")
    payment = Payment.objects.create(
        org=org, document=document, amount="10.00", paid_at="2026-11-05"
    )
    SyncRecord.objects.create(
        org=org, connection=connection, document=document, entry_type="bill", status=1
    )
    record = SyncRecord.objects.create(
        org=org,
        connection=connection,
        document=document,
        payment=payment,
        entry_type="bill_payment",
    )
    start = requests_so_far(ledger_books)
    assert services.sync_record_push(record_id=record.pk, worker="w") is None
    record.refresh_from_db()
    assert record.status == RecordStatus.FAILED
    assert record.last_error_message.startswith("Its bill was voided before it reached")
    assert ledger_requests(ledger_books, start) == []
