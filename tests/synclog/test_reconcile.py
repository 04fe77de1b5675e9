"""Drift detection (issue 17, item 3): the periodic reconcile reads what changed in the ledger
since the last one (Xero: If-Modified-Since) and marks each synced record whose entry no longer
matches: changed, voided, paid elsewhere. The ledger is the Xero emulator in process; every call
it received is counted."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from documents import services as document_services
from synclog import services
from synclog.models import (
    LedgerReconcile,
    RecordStatus,
    StatusCode,
    SyncAttempt,
    SyncRecord,
    SyncStatusChange,
    Trigger,
)
from synclog.ratelimit import Grant, get_rate_limiter
from synclog.selectors.document_state import DocumentSyncState, document_sync_states
from synclog.services.reconcile import ReconcileResult
from tests.factories import MembershipFactory

# The ledgers whose connector reads what changed since a time.
from tests.synclog.conftest import bill_record
from tests.synclog.reconcile_helpers import calls_since, reconcile
from tests.synclog.test_ledger_drift import ledger_date


@pytest.fixture
def pushed(approved_bill, drain, connection, ledger):
    drain()
    record = bill_record(approved_bill)
    assert record.status == RecordStatus.COMPLETE
    return record


def test_an_entry_unchanged_in_the_ledger_is_read_once_and_nothing_is_written(
    pushed, connection, ledger
):
    start = len(ledger.state()["requests"])
    result = reconcile(connection)
    assert calls_since(ledger, start) == ["GET /api.xro/2.0/Invoices"]
    assert (result.entries_read, result.drifted, result.calls) == (1, 0, 1)
    pushed.refresh_from_db()
    assert pushed.status == RecordStatus.COMPLETE
    assert not SyncAttempt.objects.filter(trigger=Trigger.RECONCILE).exists()
    mark = LedgerReconcile.objects.get(connection=connection)
    assert mark.changed_since is not None and mark.finished_at is not None


def test_a_due_date_changed_in_xero_marks_the_record_drifted_with_what_xero_answered(
    pushed, approved_bill, connection, ledger, org
):
    ledger.edit_invoice(pushed.external_id, {"DueDate": "2027-01-31"})
    start = len(ledger.state()["requests"])
    result = reconcile(connection)

    assert result.drifted == 1
    request = ledger.state()["requests"][start]
    assert request["method"] == "GET" and request["path"] == "/api.xro/2.0/Invoices"
    pushed.refresh_from_db()
    assert pushed.status == RecordStatus.FAILED
    assert pushed.last_error_message == "Changed in Xero since ledgersync pushed it"
    assert "due date 2027-01-31 there" in pushed.last_error_explanation
    assert pushed.ledger_drifted and not pushed.ledger_gone
    assert pushed.payload_hash == ""  # the next push sends ours again

    attempt = pushed.attempts.first()
    assert attempt.trigger == Trigger.RECONCILE
    assert attempt.status_code == StatusCode.DATA_PUSH
    assert attempt.error_detail["differences"] == [
        f"due date 2027-01-31 there, {approved_bill.due_date} here"
    ]
    (call,) = attempt.calls
    assert call["method"] == "GET" and "/Invoices" in call["url"]
    assert pushed.external_id in call["response_body"]
    assert "2027-01-31" in call["response_body"] or "/Date(" in call["response_body"]

    # The Documents list shows it Drifted.
    states = document_sync_states(org=org)
    assert (
        type(approved_bill)
        .objects.filter(states.condition(DocumentSyncState.DRIFTED), pk=approved_bill.pk)
        .exists()
    )


def test_a_second_reconcile_over_the_same_change_finds_nothing_new(pushed, connection, ledger):
    ledger.edit_invoice(pushed.external_id, {"DueDate": "2027-01-31"})
    assert reconcile(connection).drifted == 1
    # The mark moved on (with its overlap, the same entry may be read again): no second finding.
    LedgerReconcile.objects.filter(connection=connection).update(
        changed_since=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    )
    assert reconcile(connection).drifted == 0
    assert SyncAttempt.objects.filter(trigger=Trigger.RECONCILE).count() == 1


def test_push_ours_again_puts_the_document_back_in_xero(
    pushed, approved_bill, connection, ledger, clerk, drain
):
    ledger.edit_invoice(pushed.external_id, {"DueDate": "2027-01-31"})
    reconcile(connection)
    services.resync(document=approved_bill, connection=connection, entry="bill", actor=clerk)
    drain()
    pushed.refresh_from_db()
    assert pushed.status == RecordStatus.COMPLETE
    assert ledger.invoice(pushed.external_id)["DueDate"] == ledger_date(approved_bill.due_date)
    # Re-read after our own push: the entry matches, nothing is flagged.
    LedgerReconcile.objects.filter(connection=connection).update(
        changed_since=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    )
    assert reconcile(connection).drifted == 0
    assert len(ledger.invoices()) == 1


def test_retry_of_the_group_pushes_ours_again(
    pushed, approved_bill, connection, ledger, drain, org
):
    ledger.edit_invoice(pushed.external_id, {"DueDate": "2027-01-31"})
    reconcile(connection)
    admin = MembershipFactory(org=org, role="admin").user
    services.retry_failed_records(
        org=org, connection=connection, document_ids=[approved_bill.pk], actor=admin
    )
    start = len(ledger.state()["requests"])
    drain()
    assert "POST" in [call.split()[0] for call in calls_since(ledger, start)]
    pushed.refresh_from_db()
    assert pushed.status == RecordStatus.COMPLETE
    assert reconcile(connection).drifted == 0


def test_accept_the_ledgers_is_audited_and_not_flagged_again(pushed, connection, ledger, org):
    ledger.edit_invoice(pushed.external_id, {"DueDate": "2027-01-31"})
    reconcile(connection)
    accounting = MembershipFactory(org=org, role="accounting_sync").user
    start = len(ledger.state()["requests"])
    services.sync_record_accept_ledger(org=org, record_id=pushed.pk, actor=accounting)
    assert calls_since(ledger, start) == []  # nothing is sent
    pushed.refresh_from_db()
    assert pushed.status == RecordStatus.COMPLETE
    change = SyncStatusChange.objects.get(record=pushed)
    assert (change.actor, change.from_status, change.to_status) == (
        accounting,
        RecordStatus.FAILED,
        RecordStatus.COMPLETE,
    )
    assert "Accepted Xero's" in change.note and "due date 2027-01-31 there" in change.note
    # Read again (the overlap): the version accepted is not flagged a second time.
    LedgerReconcile.objects.filter(connection=connection).update(
        changed_since=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    )
    assert reconcile(connection).drifted == 0
    # A later change in Xero is a new drift.
    ledger.edit_invoice(pushed.external_id, {"DueDate": "2027-02-28"})
    assert reconcile(connection).drifted == 1


def test_accept_refuses_a_record_that_did_not_drift_and_another_organisations(
    pushed, connection, org
):
    with pytest.raises(ValidationError):
        services.sync_record_accept_ledger(org=org, record_id=pushed.pk, actor=None)
    other = MembershipFactory(role="admin").org
    with pytest.raises(SyncRecord.DoesNotExist):
        services.sync_record_accept_ledger(org=other, record_id=pushed.pk, actor=None)


def test_a_bill_voided_in_xero_is_found_by_the_reconcile(pushed, connection, ledger):
    ledger.void_invoice(pushed.external_id)
    assert reconcile(connection).drifted == 1
    pushed.refresh_from_db()
    assert (pushed.last_error_message, pushed.ledger_gone) == ("Voided in Xero", True)


def test_a_bill_paid_in_xero_outside_ledgersync_is_paid_elsewhere(pushed, connection, ledger):
    ledger.book_invoice(pushed.external_id)
    assert reconcile(connection).drifted == 1
    pushed.refresh_from_db()
    assert pushed.last_error_message == "Paid in Xero outside ledgersync"
    assert pushed.booked


def test_a_payment_pushed_by_us_is_not_paid_elsewhere(
    pushed, approved_bill, connection, ledger, clerk, drain
):
    document_services.payment_record(
        document=approved_bill, actor=clerk, amount="100.00", paid_at="2026-11-05"
    )
    drain()
    assert reconcile(connection).drifted == 0
    pushed.refresh_from_db()
    assert pushed.status == RecordStatus.COMPLETE


def test_records_pending_or_failed_are_left_alone(pushed, approved_bill, connection, ledger, clerk):
    ledger.edit_invoice(pushed.external_id, {"DueDate": "2027-01-31"})
    # An edit here is on its way (automatic push, Pending): the reconcile waits for it.
    document_services.document_update(
        document=approved_bill, actor=clerk, data={"number": "INV-77"}
    )
    result = services.connection_reconcile(connection_id=connection.pk)
    assert result.wait is not None and result.calls == 0
    SyncRecord.objects.filter(pk=pushed.pk).update(
        status=RecordStatus.FAILED, pending_trigger=Trigger.BULK
    )
    assert reconcile(connection).drifted == 0
    pushed.refresh_from_db()
    assert pushed.last_error_message == ""


def test_out_of_quota_the_reconcile_comes_back_later_without_calling(pushed, connection, ledger):
    connection.settings = {"rate_limits": {"per_window": 3, "window_seconds": 60}}
    connection.save(update_fields=["settings"])
    limiter = get_rate_limiter()
    key = services.connection_quota_key(connection=connection)
    limits = services.connection_quota(connection=connection)
    while isinstance(grant := limiter.try_acquire(key, limits), Grant):  # the window is full
        limiter.release(grant)
    start = len(ledger.state()["requests"])
    result = services.connection_reconcile(connection_id=connection.pk)
    assert result.wait and result.wait > 0
    assert calls_since(ledger, start) == []
    assert LedgerReconcile.objects.get(connection=connection).changed_since is None


def test_the_next_reconcile_asks_only_for_what_changed_since_its_mark(pushed, connection, ledger):
    reconcile(connection)
    mark = LedgerReconcile.objects.get(connection=connection)
    # Its mark is a little before it began (the overlap), never after.
    assert mark.changed_since <= mark.started_at - datetime.timedelta(minutes=1)
    # Nothing changed in Xero after a later mark: Xero answers nothing (If-Modified-Since).
    LedgerReconcile.objects.filter(pk=mark.pk).update(
        changed_since=datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
    )
    assert reconcile(connection).entries_read == 0
    ledger.edit_invoice(pushed.external_id, {"DueDate": "2027-01-31"})
    LedgerReconcile.objects.filter(pk=mark.pk).update(
        changed_since=datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=5)
    )
    assert reconcile(connection).drifted == 1


def test_the_reconcile_reads_many_drifted_bills_in_a_fixed_number_of_queries(
    org, vendor, category, clerk, connection, ledger, drain, django_assert_max_num_queries
):
    from tests.factories import DocumentFactory

    bills = [
        DocumentFactory(org=org, contact=vendor, category=category, number=f"INV-{n}")
        for n in range(6)
    ]
    for bill in bills:
        document_services.document_approve(document=bill, actor=clerk)
    drain()

    def drift(documents, due: str) -> None:
        for bill in documents:
            ledger.edit_invoice(bill_record(bill).external_id, {"DueDate": due})

    drift(bills[:1], "2027-01-31")
    with django_assert_max_num_queries(40) as one:
        assert reconcile(connection).drifted == 1
    drift(bills[1:], "2027-02-28")
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert reconcile(connection).drifted == 5


def test_a_total_changed_in_xero_shows_as_differs_in_sync_history(
    pushed, approved_bill, connection, ledger, org, client
):
    line = ledger.invoice(pushed.external_id)["LineItems"][0]
    ledger.edit_invoice(
        pushed.external_id,
        {"LineItems": [{**line, "UnitAmount": 999.0, "Quantity": 1.0, "LineAmount": 999.0}]},
    )
    assert reconcile(connection).drifted == 1
    pushed.refresh_from_db()
    assert "total 999.00 there" in pushed.last_error_explanation
    assert pushed.synced_amount == 999  # what Xero holds now: Total vs Synced is live
    accounting = MembershipFactory(org=org, role="accounting_sync").user
    client.force_login(accounting)
    page = client.get("/sync/history/", {"tab": "bill", "status": "failed"}).content.decode()
    assert f'<tr data-record-id="{pushed.pk}" class="amounts-differ">' in page
    assert "Differs" in page


def test_beat_sends_one_reconcile_per_active_connection_on_the_bulk_queue(
    connection, monkeypatch, other_org
):
    from integrations.models import ConnectionStatus
    from synclog import tasks
    from tests.factories import ConnectionFactory

    ConnectionFactory(org=other_org, status=ConnectionStatus.DISABLED)
    sent = []
    monkeypatch.setattr(
        tasks.ledger_reconcile,
        "apply_async",
        lambda args, countdown=None, queue=None: sent.append((args, countdown, queue)),
    )
    assert tasks.ledger_reconcile_all() == 1
    assert sent == [([connection.pk], None, "bulk")]
    # Out of quota, the task sends itself again later, on the same queue.
    monkeypatch.setattr(
        services, "connection_reconcile", lambda connection_id: ReconcileResult(wait=7.5)
    )
    tasks.ledger_reconcile(connection.pk)
    assert sent[-1] == ([connection.pk], 7.5, "bulk")


def test_a_payment_deleted_in_xero_is_drifted_and_accepted_once(
    pushed, approved_bill, connection, ledger, clerk, drain, org
):
    document_services.payment_record(
        document=approved_bill, actor=clerk, amount="100.00", paid_at="2026-11-05"
    )
    drain()
    payment = SyncRecord.objects.get(document=approved_bill, payment__isnull=False)
    assert payment.status == RecordStatus.COMPLETE
    start = len(ledger.state()["requests"])
    ledger.delete_payment(payment.external_id)

    assert reconcile(connection).drifted == 1
    assert "GET /api.xro/2.0/Payments" in calls_since(ledger, start)
    payment.refresh_from_db()
    assert (payment.status, payment.last_error_message) == (
        RecordStatus.FAILED,
        "Payment deleted in Xero",
    )
    assert payment.ledger_drifted and payment.synced_amount == 0
    assert payment.payment_deleted_in_ledger
    assert payment.external_id in payment.attempts.first().calls[0]["response_body"]
    pushed.refresh_from_db()
    assert pushed.status == RecordStatus.COMPLETE  # the bill itself still matches

    admin = MembershipFactory(org=org, role="admin").user
    services.sync_record_accept_ledger(org=org, record_id=payment.pk, actor=admin)
    payment.refresh_from_db()
    # Accepted gone: linked to the deleted payment still, and a re-sync makes no other one.
    assert not payment.payment_deleted_in_ledger
    start = len(ledger.state()["requests"])
    services.sync_status_update(
        org=org, record_ids=[payment.pk], to_status=RecordStatus.PENDING, actor=admin
    )
    drain()
    assert "PUT /api.xro/2.0/Payments" not in calls_since(ledger, start)
    LedgerReconcile.objects.filter(connection=connection).update(
        changed_since=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    )
    assert reconcile(connection).drifted == 0


def test_a_payment_deleted_in_xero_and_retried_is_pushed_as_a_new_payment(
    pushed, approved_bill, connection, ledger, clerk, drain, org
):
    """Retry (push ours again) after a deletion: a new payment, not the deleted one answered
    again by the ledger's idempotency store under the first push's key, and not "nothing to
    push" because the record still holds the deleted payment's id."""
    document_services.payment_record(
        document=approved_bill, actor=clerk, amount=approved_bill.total, paid_at="2026-11-05"
    )
    drain()
    payment = SyncRecord.objects.get(document=approved_bill, payment__isnull=False)
    deleted_id = payment.external_id
    ledger.delete_payment(deleted_id)
    assert reconcile(connection).drifted == 1

    admin = MembershipFactory(org=org, role="admin").user
    approved_bill.refresh_from_db()  # paid now
    start = len(ledger.state()["requests"])
    services.resync(document=approved_bill, connection=connection, entry="payment", actor=admin)
    drain()

    payment.refresh_from_db()
    assert payment.status == RecordStatus.COMPLETE
    assert payment.external_id and payment.external_id != deleted_id
    assert not payment.payment_deleted_in_ledger
    assert payment.synced_amount == approved_bill.total
    assert calls_since(ledger, start).count("PUT /api.xro/2.0/Payments") == 1
    # Pushed once: a re-sync now has nothing to send.
    start = len(ledger.state()["requests"])
    services.resync(document=approved_bill, connection=connection, entry="payment", actor=admin)
    drain()
    assert "PUT /api.xro/2.0/Payments" not in calls_since(ledger, start)
    payment.refresh_from_db()
    assert payment.status == RecordStatus.COMPLETE
