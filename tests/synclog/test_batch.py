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
from tests.synclog.conftest import approved_bills, run_records


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


def test_payload_hash_and_logged_calls_are_what_dataclasses_asdict_gave():
    """plain_data replaced dataclasses.asdict on the hot path: a stored payload hash must still
    match (else every unchanged entry would be pushed again once), and a logged call read the
    same."""
    import dataclasses
    import datetime
    import hashlib
    import json
    from decimal import Decimal

    from integrations.connectors.types import (
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
