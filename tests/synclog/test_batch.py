"""Bulk runs push new entries in batches: one create per batch (a search first only where an
earlier outcome is unknown)."""

import pytest

from documents import services as document_services
from integrations import services as integration_services
from integrations.models import MappingKind
from synclog import services
from synclog.models import (
    AttemptOutcome,
    Operation,
    RecordStatus,
    StatusCode,
    SyncAttempt,
    SyncRecord,
)
from tests.factories import CategoryFactory, DocumentFactory
from tests.ledger_fixtures import XeroBooks


@pytest.fixture
def batch_sent(monkeypatch):
    from synclog import tasks

    sent = []
    monkeypatch.setattr(
        tasks.sync_batch,
        "apply_async",
        lambda args, countdown=0, queue=None: sent.append((args[0], queue)),
    )
    return sent


def approved_bills(org, clerk, category, count):
    documents = []
    for index in range(count):
        document = DocumentFactory(org=org, category=category, number=f"BATCH-{index:03d}")
        document_services.document_approve(document=document, actor=clerk)
        documents.append(document)
    return documents


def run_records(run):
    return list(SyncRecord.objects.filter(run=run).order_by("pk").values_list("pk", flat=True))


def test_bulk_run_is_sent_in_batches_per_connection(
    org, clerk, connection, office, batch_sent, django_capture_on_commit_callbacks, settings
):
    settings.SYNC_BATCH_SIZE = 4
    settings.SYNC_BULK_BATCHES_IN_FLIGHT = 3  # room for all of them (test_pacing.py: less)
    documents = approved_bills(org, clerk, office, 10)
    with django_capture_on_commit_callbacks(execute=True):
        (run,) = services.bulk_resync(org=org, document_ids=[d.pk for d in documents], actor=clerk)
    assert [len(ids) for ids, _ in batch_sent] == [4, 4, 2]
    assert {queue for _, queue in batch_sent} == {"bulk"}
    assert sorted(pk for ids, _ in batch_sent for pk in ids) == run_records(run)


def test_thirty_new_bills_cost_one_call(org, clerk, connection, office, ledger):
    documents = approved_bills(org, clerk, office, 30)
    (run,) = services.bulk_resync(org=org, document_ids=[d.pk for d in documents], actor=clerk)
    calls_before = ledger.call_count()
    assert services.sync_batch_push(record_ids=run_records(run), worker="w") == {}
    assert ledger.call_count() - calls_before == 1
    assert len(ledger.invoices()) == 30
    run.refresh_from_db()
    assert (run.status_code, run.pushed, run.failed) == (StatusCode.SUCCESS, 30, 0)
    attempt = SyncRecord.objects.filter(run=run).first().attempts.get()
    assert (attempt.operation, attempt.outcome) == (Operation.CREATE, AttemptOutcome.SUCCESS)
    assert [call["method"] for call in attempt.calls] == ["PUT"]
    assert not SyncRecord.objects.filter(run=run, unknown_outcome=True).exists()


def test_one_bad_bill_does_not_sink_the_batch(org, clerk, connection, office, ledger):
    wages = CategoryFactory(org=org, name="Wages", code="477")
    # Mapped while it was active; archived in Xero since.
    archived = next(
        a for a in integration_services.connector_for(connection).list_accounts() if a.code == "477"
    )
    integration_services.mapping_set(
        connection=connection,
        kind=MappingKind.ACCOUNT,
        local_id=wages.pk,
        external_id=archived.external_id,
        extra={"code": "477"},
    )
    documents = approved_bills(org, clerk, office, 3)
    bad = DocumentFactory(org=org, category=wages, number="BAD-1")
    document_services.document_approve(document=bad, actor=clerk)
    (run,) = services.bulk_resync(
        org=org, document_ids=[d.pk for d in [*documents, bad]], actor=clerk
    )
    services.sync_batch_push(record_ids=run_records(run), worker="w")
    assert len(ledger.invoices()) == 3
    record = SyncRecord.objects.get(document=bad)
    assert record.status == RecordStatus.FAILED
    assert "Account code '477' is not a valid code" in record.last_error_message
    assert "no active account with code 477" in record.last_error_explanation
    run.refresh_from_db()
    assert (run.pushed, run.failed, run.status_code) == (3, 1, StatusCode.DATA_PUSH)


def test_lost_batch_answer_is_linked_on_the_next_try(org, clerk, connection, office, ledger):
    documents = approved_bills(org, clerk, office, 5)
    (run,) = services.bulk_resync(org=org, document_ids=[d.pk for d in documents], actor=clerk)
    ledger.set_faults(drop_response_next=1)
    waits = services.sync_batch_push(record_ids=run_records(run), worker="w")
    assert set(waits) == set(run_records(run))
    assert SyncRecord.objects.filter(unknown_outcome=True).count() == 5
    assert len(ledger.invoices()) == 5  # made, but the answer was lost
    SyncRecord.objects.update(next_retry_at=None)
    assert services.sync_batch_push(record_ids=run_records(run), worker="w") == {}
    assert len(ledger.invoices()) == 5
    assert set(SyncRecord.objects.values_list("status", flat=True)) == {RecordStatus.COMPLETE}
    assert SyncRecord.objects.first().attempts.first().operation == Operation.LINK


def test_server_error_retries_the_whole_batch(org, clerk, connection, office, ledger):
    documents = approved_bills(org, clerk, office, 4)
    (run,) = services.bulk_resync(org=org, document_ids=[d.pk for d in documents], actor=clerk)
    ledger.set_faults(fail_next={"count": 1, "status": 503})
    waits = services.sync_batch_push(record_ids=run_records(run), worker="w")
    assert len(waits) == 4 and all(wait > 0 for wait in waits.values())
    SyncRecord.objects.update(next_retry_at=None)
    assert services.sync_batch_push(record_ids=run_records(run), worker="w") == {}
    assert len(ledger.invoices()) == 4


def test_updates_and_payments_in_a_batch_take_the_single_path(
    org, clerk, connection, office, ledger, drain
):
    documents = approved_bills(org, clerk, office, 3)
    drain()
    document_services.payment_record(
        document=documents[0], actor=clerk, amount="100.00", paid_at="2026-11-05"
    )
    (run,) = services.bulk_resync(org=org, document_ids=[d.pk for d in documents], actor=clerk)
    assert services.sync_batch_push(record_ids=run_records(run), worker="w") == {}
    run.refresh_from_db()
    assert (run.total, run.failed, run.finished_at is not None) == (4, 0, True)
    assert len(ledger.invoices()) == 3
    assert (
        ledger.invoice(SyncRecord.objects.get(document=documents[0], payment=None).external_id)[
            "Status"
        ]
        == "PAID"
    )


def test_a_batch_without_quota_goes_back_at_once_untouched(
    org, clerk, connection, office, ledger, django_assert_max_num_queries
):
    """Refused before claiming or building payloads: at month end every waiting batch wakes
    at each window, and only the ones that can call should do the work."""
    from synclog.models import SyncAttempt
    from synclog.ratelimit import Grant, Limits, get_rate_limiter

    connection.settings["rate_limits"] = {"per_window": 2, "window_seconds": 60}
    connection.save(update_fields=["settings"])
    documents = approved_bills(org, clerk, office, 3)
    (run,) = services.bulk_resync(org=org, document_ids=[d.pk for d in documents], actor=clerk)
    limiter = get_rate_limiter()
    key = f"connection:{connection.pk}"
    limiter.reset(key)
    assert isinstance(
        limiter.try_acquire(key, Limits(per_window=2, window_seconds=60), calls=2), Grant
    )
    calls_before = ledger.call_count()
    ids = run_records(run)
    try:
        with django_assert_max_num_queries(1):
            waits = services.sync_batch_push(record_ids=ids, worker="w")
    finally:
        limiter.reset(key)
    assert set(waits) == set(ids)
    assert all(0 < wait <= 60 for wait in waits.values())
    assert ledger.call_count() == calls_before
    assert not SyncAttempt.objects.exists()
    assert not SyncRecord.objects.exclude(claimed_by="").exists()


def test_a_failing_batch_costs_the_same_queries_whatever_its_size(org, clerk, connection, ledger):
    """A category with no mapping fails every bill of the batch before any call; their ends (and
    the check for webhook subscribers) are written together, not one query set per bill."""
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    unmapped = CategoryFactory(org=org, name="Travel", code="493")

    def queries_for(count, prefix):
        documents = []
        for index in range(count):
            document = DocumentFactory(org=org, category=unmapped, number=f"{prefix}-{index}")
            document_services.document_approve(document=document, actor=clerk)
            documents.append(document)
        (run,) = services.bulk_resync(org=org, document_ids=[d.pk for d in documents], actor=clerk)
        ids = run_records(run)
        with CaptureQueriesContext(db) as captured:
            services.sync_batch_push(record_ids=ids, worker="w")
        assert set(SyncRecord.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
            RecordStatus.FAILED
        }
        return len(captured)

    assert queries_for(20, "TWENTY") == queries_for(5, "FIVE")


def test_a_worker_killed_mid_call_leaves_its_batch_searching_first(
    org, clerk, connection, office, ledger, monkeypatch
):
    """The ledger made the bills, the worker died before saving the answer: written before the
    call, the unknown outcome makes the next push search, find and link them (no duplicate)."""
    from integrations.connectors.xero import XeroConnector

    class WorkerKilled(BaseException):
        pass

    documents = approved_bills(org, clerk, office, 4)
    (run,) = services.bulk_resync(org=org, document_ids=[d.pk for d in documents], actor=clerk)
    ids = run_records(run)
    create_entries = XeroConnector.create_entries

    def killed_once_the_ledger_made_them(self, payloads, *, idempotency_key):
        create_entries(self, payloads, idempotency_key=idempotency_key)
        raise WorkerKilled

    monkeypatch.setattr(XeroConnector, "create_entries", killed_once_the_ledger_made_them)
    with pytest.raises(WorkerKilled):
        services.sync_batch_push(record_ids=ids, worker="w")
    monkeypatch.setattr(XeroConnector, "create_entries", create_entries)
    assert len(ledger.invoices()) == 4
    assert SyncRecord.objects.filter(pk__in=ids, unknown_outcome=True).count() == 4
    assert not SyncAttempt.objects.exists()  # nothing was saved of that push

    assert services.sync_batch_push(record_ids=ids, worker="w") == {}
    assert len(ledger.invoices()) == 4
    records = SyncRecord.objects.filter(pk__in=ids)
    assert {(r.status, r.unknown_outcome) for r in records} == {(RecordStatus.COMPLETE, False)}
    assert {r.external_id for r in records} == {i["InvoiceID"] for i in ledger.invoices()}
    for record in records:
        attempt = record.attempts.get()
        assert (attempt.operation, [c["method"] for c in attempt.calls]) == (
            Operation.LINK,
            ["GET"],
        )


def test_a_retry_after_a_known_failure_creates_without_a_search(
    org, clerk, connection, office, ledger
):
    """A 503 is an answer: the ledger made nothing, so the retry is one create again."""
    documents = approved_bills(org, clerk, office, 3)
    (run,) = services.bulk_resync(org=org, document_ids=[d.pk for d in documents], actor=clerk)
    ids = run_records(run)
    ledger.set_faults(fail_next={"count": 1, "status": 503})
    assert set(services.sync_batch_push(record_ids=ids, worker="w")) == set(ids)
    assert not SyncRecord.objects.filter(unknown_outcome=True).exists()
    SyncRecord.objects.update(next_retry_at=None)
    calls_before = ledger.call_count()
    assert services.sync_batch_push(record_ids=ids, worker="w") == {}
    assert ledger.call_count() - calls_before == 1
    assert len(ledger.invoices()) == 3


def test_a_lost_answer_then_a_known_failure_keeps_searching(org, clerk, connection, office, ledger):
    """Unknown first (the bills were made), then a 429 on the search: still unknown, so the
    third push searches again and links; never a second entry."""
    documents = approved_bills(org, clerk, office, 3)
    (run,) = services.bulk_resync(org=org, document_ids=[d.pk for d in documents], actor=clerk)
    ids = run_records(run)
    ledger.set_faults(drop_response_next=1)
    services.sync_batch_push(record_ids=ids, worker="w")
    SyncRecord.objects.update(next_retry_at=None)
    ledger.set_faults(fail_next={"count": 1, "status": 503})
    services.sync_batch_push(record_ids=ids, worker="w")
    assert SyncRecord.objects.filter(pk__in=ids, unknown_outcome=True).count() == 3
    SyncRecord.objects.update(next_retry_at=None)
    assert services.sync_batch_push(record_ids=ids, worker="w") == {}
    assert len(ledger.invoices()) == 3
    assert set(SyncRecord.objects.values_list("status", flat=True)) == {RecordStatus.COMPLETE}


def test_a_document_linked_through_another_connection_is_searched_first(
    org, clerk, connection, office, ledger
):
    """Disconnected and connected again as a new connection to the same Xero organisation:
    the entries made through the first one carry our reference, so the new one links them."""
    from integrations.models import Connection, ConnectionStatus

    documents = approved_bills(org, clerk, office, 3)
    (run,) = services.bulk_resync(org=org, document_ids=[d.pk for d in documents], actor=clerk)
    assert services.sync_batch_push(record_ids=run_records(run), worker="w") == {}
    Connection.objects.filter(pk=connection.pk).update(status=ConnectionStatus.DISCONNECTED)
    again = XeroBooks(ledger).connect_org(org, name="Xero again", base_url=connection.base_url)
    (run,) = services.bulk_resync(org=org, document_ids=[d.pk for d in documents], actor=clerk)
    assert run.connection == again
    assert services.sync_batch_push(record_ids=run_records(run), worker="w") == {}
    assert len(ledger.invoices()) == 3
    operations = set(
        SyncAttempt.objects.filter(record__connection=again).values_list("operation", flat=True)
    )
    assert operations == {Operation.LINK}


def paid_bills(org, clerk, category, count, *, prefix="PAID"):
    """Approved bills with 1, 2, 3, 1, … payments of 10.00 each."""
    documents = []
    for index in range(count):
        document = DocumentFactory(org=org, category=category, number=f"{prefix}-{index:03d}")
        document_services.document_approve(document=document, actor=clerk)
        for _ in range(1 + index % 3):
            document_services.payment_record(
                document=document, actor=clerk, amount="10.00", paid_at="2026-11-05"
            )
        documents.append(document)
    return documents


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
    monkeypatch.setattr(batch, "_batch_quota_wait", lambda record_ids: 0.0)
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


def test_payload_hash_and_logged_calls_are_what_dataclasses_asdict_gave():
    """plain_data replaced dataclasses.asdict on the hot path: a stored payload hash must still
    match (else every unchanged entry would be pushed again once), and a logged call read the
    same."""
    import dataclasses
    import datetime
    import hashlib
    import json
    from decimal import Decimal

    from integrations.connectors.base import (
        CallRecord,
        EntryKind,
        EntryPayload,
        LinePayload,
        TrackingRef,
    )
    from synclog.services.attempt_log import plain_data
    from synclog.services.entries import payload_hash

    tracking = (TrackingRef("Region", "North", category_id="c1", option_id="o1"),)
    payload = EntryPayload(
        kind=EntryKind.BILL,
        reference="ls-1-2",
        number="INV-1",
        issue_date=datetime.date(2026, 1, 2),
        due_date=datetime.date(2026, 2, 1),
        currency="EUR",
        total=Decimal("110.50"),
        lines=(
            LinePayload("Paper", Decimal("2"), Decimal("55.25"), "429", tracking, "INPUT"),
            LinePayload("Ink", Decimal("1.000"), Decimal("0"), "429"),
        ),
        contact_name="Supplier",
        currency_rate=Decimal("1.0825"),
    )
    before = json.dumps(dataclasses.asdict(payload), sort_keys=True, default=str)
    assert payload_hash(payload) == hashlib.sha256(before.encode()).hexdigest()
    call = CallRecord(
        method="PUT",
        url="https://api.xero.com/api.xro/2.0/Invoices",
        http_status=200,
        duration_ms=12,
        request_body="{}",
        response_body="{}",
        rate_limit={"X-MinLimit-Remaining": "59"},
    )
    assert plain_data(call) == dataclasses.asdict(call)
    assert plain_data(call)["rate_limit"] is not call.rate_limit


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
