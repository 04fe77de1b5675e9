"""Bulk runs push new payments in batches too: one call for the bills and one for their payments,
payments waiting with their bill, a refused payment failing alone, a lost answer linked."""

from documents import services as document_services
from synclog import services
from synclog.models import (
    AttemptOutcome,
    Operation,
    RecordStatus,
    StatusCode,
    SyncAttempt,
    SyncRecord,
)
from tests.synclog.conftest import approved_bills, paid_bills, run_records


def test_new_paid_bills_cost_one_call_for_the_bills_and_one_for_their_payments(
    org, clerk, connection, office, ledger
):
    documents = paid_bills(org, clerk, office, 6)
    (run,) = services.bulk_resync(org=org, document_ids=[d.pk for d in documents], actor=clerk)
    ids = run_records(run)
    assert len(ids) == 6 + 12
    calls_before = ledger.call_count()
    assert services.sync_batch_push(record_ids=ids, worker="w") == {}
    assert ledger.call_count() - calls_before == 2
    run.refresh_from_db()
    assert (run.status_code, run.pushed, run.failed) == (StatusCode.SUCCESS, 18, 0)
    payments = SyncRecord.objects.filter(run=run, payment__isnull=False)
    assert all(p.status == RecordStatus.COMPLETE and p.external_id for p in payments)
    for payment in payments:
        (call,) = payment.attempts.get().calls
        # Its own element of the batch, in its own document's log.
        assert (call["method"], call["url"].split("?")[0].rsplit("/", 1)[1]) == ("PUT", "Payments")
        assert payment.payment.reference in call["request_body"]
        assert call["request_body"].count('"Amount"') == 1
    for document in documents:
        bill = SyncRecord.objects.get(document=document, payment=None)
        assert bill.booked
        assert ledger.invoice(bill.external_id)["AmountPaid"] == 10 * (
            1 + documents.index(document) % 3
        )


def test_payments_wait_with_their_bill_when_its_call_has_no_quota(
    org, clerk, connection, office, ledger, monkeypatch
):
    """The bills' call refused for quota (the window spent by another batch since this one
    began): their payments wait as long as they do, untouched, and come back with them in one
    batch, instead of each taking the one-record path to be sent back for its bill."""
    from synclog.ratelimit import Limits, get_rate_limiter
    from synclog.services import batch

    connection.settings["rate_limits"] = {"per_window": 2, "window_seconds": 60}
    connection.save(update_fields=["settings"])
    documents = paid_bills(org, clerk, office, 3)
    (run,) = services.bulk_resync(org=org, document_ids=[d.pk for d in documents], actor=clerk)
    limiter = get_rate_limiter()
    key = f"connection:{connection.pk}"
    limiter.reset(key)
    limiter.try_acquire(key, Limits(per_window=2, window_seconds=60), calls=2)
    # As if a call was free when the batch began.
    monkeypatch.setattr(batch, "_batch_quota_wait", lambda connection: 0.0)
    calls_before = ledger.call_count()
    ids = run_records(run)
    try:
        waits = services.sync_batch_push(record_ids=ids, worker="w")
    finally:
        limiter.reset(key)
    assert set(waits) == set(ids)  # 3 bills, 6 payments
    assert len(set(waits.values())) == 1
    assert ledger.call_count() == calls_before
    assert not SyncAttempt.objects.exists()
    assert not SyncRecord.objects.exclude(claimed_by="").exists()


def test_a_refused_payment_in_a_batch_fails_on_its_own_document_only(
    org, clerk, connection, office, ledger, drain
):
    documents = approved_bills(org, clerk, office, 4)
    drain()
    voided = documents[1]
    ledger.void_invoice(SyncRecord.objects.get(document=voided, payment=None).external_id)
    for document in documents:
        document_services.payment_record(
            document=document, actor=clerk, amount="10.00", paid_at="2026-11-05"
        )
    (run,) = services.bulk_resync(org=org, document_ids=[d.pk for d in documents], actor=clerk)
    calls_before = ledger.call_count()
    services.sync_batch_push(record_ids=run_records(run), worker="w")
    # One PUT /Payments for the four, and a read of the refused one's bill to say why.
    assert ledger.call_count() - calls_before == 2
    refused = SyncRecord.objects.get(document=voided, payment__isnull=False)
    assert refused.status == RecordStatus.FAILED
    assert "Authorised" in refused.last_error_message
    assert "voided in Xero" in refused.last_error_explanation
    attempt = refused.attempts.get()
    assert attempt.outcome == AttemptOutcome.FAILED
    assert "Authorised" in attempt.calls[0]["response_body"]
    others = SyncRecord.objects.filter(payment__isnull=False).exclude(pk=refused.pk)
    assert {(r.status, bool(r.external_id)) for r in others} == {(RecordStatus.COMPLETE, True)}
    for record in others:
        assert record.attempts.get().outcome == AttemptOutcome.SUCCESS
    run.refresh_from_db()
    assert run.failed >= 1 and run.pushed >= 3


def test_a_lost_answer_to_a_batch_of_payments_is_linked_not_paid_twice(
    org, clerk, connection, office, ledger, drain
):
    documents = approved_bills(org, clerk, office, 3)
    drain()
    for document in documents:
        for _ in range(2):
            document_services.payment_record(
                document=document, actor=clerk, amount="10.00", paid_at="2026-11-05"
            )
    (run,) = services.bulk_resync(org=org, document_ids=[d.pk for d in documents], actor=clerk)
    ledger.set_faults(drop_response_next=1)
    waits = services.sync_batch_push(record_ids=run_records(run), worker="w")
    payments = SyncRecord.objects.filter(payment__isnull=False)
    assert set(waits) == set(payments.values_list("pk", flat=True))
    assert payments.filter(unknown_outcome=True).count() == 6
    SyncRecord.objects.update(next_retry_at=None)
    assert services.sync_batch_push(record_ids=run_records(run), worker="w") == {}
    for document in documents:
        bill = SyncRecord.objects.get(document=document, payment=None)
        assert ledger.invoice(bill.external_id)["AmountPaid"] == 20  # not 40
    assert {(r.status, r.unknown_outcome) for r in payments} == {(RecordStatus.COMPLETE, False)}
    assert len(set(payments.values_list("external_id", flat=True))) == 6
    linked = [r.attempts.filter(outcome=AttemptOutcome.SUCCESS).get().operation for r in payments]
    assert set(linked) == {Operation.LINK}


def test_a_payment_alone_whose_bill_is_not_in_the_ledger_takes_no_quota(
    org, clerk, connection, office, ledger
):
    """Sent back for its bill (still Pending, or Failed), a payment makes no call, so it must not
    take a place in the quota either: a bulk run of paid bills whose bills wait would otherwise
    spend the window on calls never made."""
    from synclog.ratelimit import get_rate_limiter

    connection.settings["rate_limits"] = {"per_window": 60, "window_seconds": 60}
    connection.save(update_fields=["settings"])
    [document] = paid_bills(org, clerk, office, 1)
    payment = SyncRecord.objects.get(document=document, payment__isnull=False)
    bill = SyncRecord.objects.get(document=document, payment__isnull=True)
    limits = services.connection_quota(connection=connection)
    key = services.connection_quota_key(connection=connection)
    get_rate_limiter().reset(key)
    calls_before = ledger.call_count()
    # Its bill is still Pending: the payment waits for it.
    wait = services.sync_record_push(record_id=payment.pk, worker="w")
    assert wait is not None and wait > 0
    # Its bill failed: the payment waits with it (Pending, not Failed).
    SyncRecord.objects.filter(pk=bill.pk).update(
        status=RecordStatus.FAILED, last_error_code=5130, last_error_message="Refused."
    )
    SyncRecord.objects.filter(pk=payment.pk).update(next_retry_at=None)
    assert services.sync_record_push(record_id=payment.pk, worker="w") is None
    payment.refresh_from_db()
    assert payment.status == RecordStatus.PENDING and payment.waits_for_bill
    assert payment.last_error_message == "Waits for its bill entry, which failed: Refused."
    assert ledger.call_count() == calls_before
    assert get_rate_limiter().usage(key, limits).window_used == 0
