"""The sync rules of DESIGN §4, against the in-process Xero emulator. The rules that touch the
ledger run on every ledger's emulator in test_engine_each_ledger.py."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from documents import services as document_services
from synclog import services
from synclog.models import (
    Operation,
    RecordStatus,
    StatusCode,
    SyncAttempt,
    SyncRecord,
    SyncRun,
    Trigger,
)
from synclog.services import outcomes as record_outcomes
from tests.factories import CategoryFactory, DocumentFactory
from tests.synclog.conftest import bill_record


def test_drafts_never_sync(org, vendor, clerk, connection):
    document = document_services.document_create(
        org=org,
        actor=clerk,
        number="D-1",
        contact=vendor,
        issue_date="2026-11-01",
        due_date="2026-11-30",
        currency="EUR",
        total="10.00",
        lines=[{"description": "x", "unit_amount": "10.00"}],
    )
    document_services.document_submit(document=document, actor=clerk)
    assert not SyncRecord.objects.exists()


def test_the_first_change_is_enqueued_at_once_on_commit(
    bill, clerk, connection, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        document_services.document_approve(document=bill, actor=clerk)
        assert enqueued == []  # not before the commit
    assert callbacks
    record = bill_record(bill)
    assert enqueued == [(record.pk, 0, "sync")]


def test_a_change_while_the_document_waits_is_coalesced(
    bill, clerk, connection, enqueued, django_capture_on_commit_callbacks, settings
):
    with django_capture_on_commit_callbacks(execute=True):
        document_services.document_approve(document=bill, actor=clerk)
    with django_capture_on_commit_callbacks(execute=True):
        document_services.document_update(
            document=bill, actor=clerk, data={"due_date": datetime.date(2026, 12, 31)}
        )
    record = bill_record(bill)
    assert enqueued == [(record.pk, 0, "sync"), (record.pk, settings.SYNC_COALESCE_SECONDS, "sync")]


def test_a_description_change_is_not_pushed(approved_bill, drain, clerk):
    drain()
    document_services.document_update(
        document=approved_bill, actor=clerk, data={"description": "note for us"}
    )
    assert bill_record(approved_bill).status == RecordStatus.COMPLETE


def test_payment_waits_for_a_bill_that_was_never_pushed(
    org, bill, clerk, drain, ledger, connection
):
    # Approved before the connection existed: no bill record yet.
    connection.status = "disabled"
    connection.save()
    document_services.document_approve(document=bill, actor=clerk)
    connection.status = "active"
    connection.save()
    payment = document_services.payment_record(
        document=bill, actor=clerk, amount="100.00", paid_at="2026-11-05"
    )
    payment_record = SyncRecord.objects.get(payment=payment)
    assert services.sync_record_push(record_id=payment_record.pk, worker="w") > 0
    bill_rec = bill_record(bill)
    assert (bill_rec.status, bill_rec.pending_reason) == (
        RecordStatus.PENDING,
        "needed before its payment",
    )
    drain()
    assert ledger.invoice(bill_record(bill).external_id)["Status"] == "PAID"
    assert len(ledger.invoices()) == 1


def test_too_many_transient_errors_end_failed(approved_bill, drain, ledger, settings):
    settings.SYNC_MAX_ATTEMPTS = 3
    ledger.set_faults(error_rate=1.0)
    drain()
    record = bill_record(approved_bill)
    assert record.status == RecordStatus.FAILED
    assert record.last_error_code == StatusCode.SERVER_ERROR
    assert record.attempts.count() == 3
    assert ledger.invoices() == []


def test_two_entries_with_our_reference_are_duplication_protection(
    approved_bill, drain, ledger, connection
):
    from integrations.payloads import build_entry_payload
    from integrations.selectors import mapping_index
    from integrations.services import connector_for

    payload = build_entry_payload(
        approved_bill, connection=connection, mappings=mapping_index(connection=connection)
    )
    connector = connector_for(connection)
    connector.create_entry(payload, idempotency_key="someone-else-1")
    connector.create_entry(payload, idempotency_key="someone-else-2")
    # An earlier create's answer was lost: the push searches first and finds both.
    SyncRecord.objects.filter(pk=bill_record(approved_bill).pk).update(unknown_outcome=True)
    drain()
    record = bill_record(approved_bill)
    assert (record.status, record.last_error_code) == (RecordStatus.FAILED, StatusCode.DUPLICATION)
    assert len(ledger.invoices()) == 2


def test_void_before_any_push_has_nothing_to_push(org, clerk, connection, drain, ledger, bill):
    document_services.document_approve(document=bill, actor=clerk)
    document_services.document_void(document=bill, actor=clerk)
    drain()
    assert bill_record(bill).status == RecordStatus.COMPLETE
    assert ledger.invoices() == []


def test_attachment_added_later_is_uploaded_on_the_next_push(
    approved_bill, clerk, drain, ledger, settings, tmp_path
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.MEDIA_ROOT = tmp_path
    drain()
    document_services.attachment_add(
        document=approved_bill,
        actor=clerk,
        upload=SimpleUploadedFile("r.pdf", b"%PDF-1.4 r", "application/pdf"),
    )
    drain()
    record = bill_record(approved_bill)
    assert ledger.invoice(record.external_id)["HasAttachments"] is True
    assert len(record.uploaded_attachment_ids) == 1
    attempt = record.attempts.first()
    assert any("/Attachments/" in call["url"] for call in attempt.calls)
    services.resync(document=approved_bill, connection=record.connection, entry="bill", actor=clerk)
    drain()
    assert bill_record(approved_bill).attempts.first().operation == Operation.NOTHING_TO_PUSH


def test_manual_payment_resync_needs_a_paid_document(approved_bill, connection, clerk):
    with pytest.raises(ValidationError):
        services.resync(document=approved_bill, connection=connection, entry="payment", actor=clerk)


def test_bulk_resync_of_mixed_documents_makes_the_right_entries(
    org, clerk, connection, drain, ledger, office, django_assert_max_num_queries
):
    documents = []
    for index in range(50):
        document = DocumentFactory(org=org, category=office, number=f"B-{index:03d}")
        document_services.document_approve(document=document, actor=clerk)
        if index % 3 == 0:
            document_services.payment_record(
                document=document, actor=clerk, amount="100.00", paid_at="2026-11-05"
            )
        documents.append(document)
    # A third already synced before the bulk run.
    for document in documents[:17]:
        for record in SyncRecord.objects.filter(document=document):
            services.sync_record_push(record_id=record.pk, worker="w")
    with django_assert_max_num_queries(20):
        (run,) = services.bulk_resync(org=org, document_ids=[d.pk for d in documents], actor=clerk)
    assert run.total == 50 + 17
    drain(rounds=40)
    run.refresh_from_db()
    assert run.status_code == StatusCode.SUCCESS
    assert (run.pushed + run.nothing_to_push, run.failed) == (67, 0)
    invoices = ledger.invoices()
    assert len(invoices) == 50
    assert len({invoice["Url"] for invoice in invoices}) == 50
    paid = [i for i in invoices if i["Status"] == "PAID"]
    assert len(paid) == 17
    assert all(i["AmountPaid"] == 100.0 for i in paid)


def test_force_sync_pushes_what_never_synced(org, clerk, connection, drain, ledger, office):
    connection.status = "disabled"
    connection.save()
    for index in range(3):
        document = DocumentFactory(org=org, category=office, number=f"F-{index}")
        document_services.document_approve(document=document, actor=clerk)
    connection.status = "active"
    connection.save()
    assert not SyncRecord.objects.exists()
    run = services.force_sync(org=org, connection=connection, actor=clerk)
    assert run.total == 3
    drain()
    assert len(ledger.invoices()) == 3
    run = services.force_sync(org=org, connection=connection, actor=clerk)
    assert (run.total, run.status_code) == (0, StatusCode.NOTHING_TO_PUSH)


def test_retry_failed_items_after_the_fix(org, clerk, connection, drain, ledger, office):
    from integrations import services as integration_services

    travel = CategoryFactory(org=org, name="Travel", code="493")
    documents = [DocumentFactory(org=org, category=c) for c in (office, travel, travel)]
    for document in documents:
        document_services.document_approve(document=document, actor=clerk)
    (run,) = services.bulk_resync(org=org, document_ids=[d.pk for d in documents], actor=clerk)
    drain()
    run.refresh_from_db()
    assert (run.failed, run.status_code) == (2, StatusCode.CONFIGURATION)
    with pytest.raises(ValidationError):
        services.retry_failed(
            run=SyncRun.objects.create(org=org, connection=connection, trigger="bulk"), actor=clerk
        )
    accounts = integration_services.connector_for(connection).list_accounts()
    integration_services.mappings_auto_map_accounts(connection=connection, accounts=accounts)
    retry = services.retry_failed(run=run, actor=clerk)
    assert (retry.total, retry.retry_of) == (2, run)
    drain()
    retry.refresh_from_db()
    assert (retry.status_code, retry.pushed) == (StatusCode.SUCCESS, 2)
    assert len(ledger.invoices()) == 3


def test_update_sync_status_is_audited(approved_bill, org, other_org, clerk, ledger, drain):
    ledger.set_lock_date(lock_date="2026-12-31")
    drain()
    record = bill_record(approved_bill)
    assert record.status == RecordStatus.FAILED
    with pytest.raises(ValidationError):
        services.sync_status_update(org=org, record_ids=[record.pk], to_status=9, actor=clerk)
    assert (
        services.sync_status_update(
            org=org, record_ids=[record.pk], to_status=RecordStatus.COMPLETE, actor=clerk
        )
        == 1
    )
    change = record.status_changes.get()
    assert (change.actor, change.from_status, change.to_status) == (clerk, 2, 1)
    with pytest.raises(ValidationError):
        services.sync_status_update(
            org=org, record_ids=[record.pk], to_status=RecordStatus.COMPLETE, actor=clerk
        )
    # Another organisation's ids are ignored.
    assert (
        services.sync_status_update(
            org=other_org, record_ids=[record.pk], to_status=RecordStatus.PENDING, actor=clerk
        )
        == 0
    )
    services.sync_status_update(
        org=org, record_ids=[record.pk], to_status=RecordStatus.PENDING, actor=clerk
    )
    record.refresh_from_db()
    assert record.status == RecordStatus.PENDING
    assert record.status_changes.count() == 2


def test_sweep_requeues_lost_tasks_and_frees_dead_leases(
    approved_bill, enqueued, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    record = bill_record(approved_bill)
    long_ago = timezone.now() - datetime.timedelta(minutes=10)
    SyncRecord.objects.filter(pk=record.pk).update(
        enqueued_at=long_ago, claimed_by="dead-worker", claimed_until=long_ago
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sync_sweep() == 1
    record.refresh_from_db()
    assert record.claimed_by == ""
    assert enqueued[-1][0] == record.pk
    assert enqueued[-1][2] == "sync"
    # Just enqueued: the next sweep leaves it alone.
    assert services.sync_sweep() == 0


def test_sweep_resends_a_dead_push_at_once_even_if_just_enqueued(
    approved_bill, enqueued, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    record = bill_record(approved_bill)
    # Its worker died mid-push (or lost the database) a moment after the task was sent.
    SyncRecord.objects.filter(pk=record.pk).update(
        enqueued_at=timezone.now(),
        claimed_by="dead-worker",
        claimed_until=timezone.now() - datetime.timedelta(seconds=1),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sync_sweep() == 1
    assert enqueued[-1][0] == record.pk


def test_sweep_keeps_bulk_work_in_batches_on_the_bulk_queue(
    org, clerk, connection, office, enqueued, django_capture_on_commit_callbacks, monkeypatch
):
    from synclog import tasks

    documents = [DocumentFactory(org=org, category=office) for _ in range(3)]
    for document in documents:
        document_services.document_approve(document=document, actor=clerk)
    services.bulk_resync(org=org, document_ids=[d.pk for d in documents], actor=clerk)
    SyncRecord.objects.update(enqueued_at=None)  # their tasks were lost with the broker
    batches = []
    monkeypatch.setattr(
        tasks.sync_batch,
        "apply_async",
        lambda args, countdown=0, queue=None: batches.append((args[0], queue)),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert services.sync_sweep() == 3
    assert batches == [(sorted(bill_record(d).pk for d in documents), "bulk")]
    triggers = set(SyncRecord.objects.values_list("pending_trigger", flat=True))
    assert triggers == {Trigger.BULK}  # the attempts still say what asked for them


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("committed", [False, True], ids=["lost-before", "lost-after-commit"])
def test_the_ledgers_answer_survives_a_database_outage(
    approved_bill, ledger, monkeypatch, settings, committed
):
    """The outcome is written again on a new connection; a COMMIT whose answer was lost is
    found and not written twice."""
    from django.db import OperationalError

    settings.SYNC_DB_RETRY_SECONDS = 10
    write = record_outcomes._write_finishes
    failures = []

    def flaky_write(log, finishes):
        if failures:
            return write(log, finishes)
        failures.append(1)
        if committed:
            write(log, finishes)
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(record_outcomes, "_write_finishes", flaky_write)
    record = bill_record(approved_bill)
    assert services.sync_record_push(record_id=record.pk, worker="w") is None
    record.refresh_from_db()
    assert failures == [1]
    assert record.status == RecordStatus.COMPLETE
    assert record.external_id
    assert record.attempts.count() == 1
    assert len(ledger.invoices()) == 1


def test_a_record_leased_by_another_worker_is_left_alone(approved_bill, ledger):
    from django.utils import timezone

    record = bill_record(approved_bill)
    SyncRecord.objects.filter(pk=record.pk).update(
        claimed_by="other", claimed_until=timezone.now() + datetime.timedelta(minutes=1)
    )
    assert services.sync_record_push(record_id=record.pk, worker="me") is None
    assert SyncAttempt.objects.count() == 0
    assert ledger.invoices() == []


def test_query_count_per_document_does_not_grow_with_the_batch(
    org, clerk, connection, office, django_assert_max_num_queries
):
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    def queries_per_document(count):
        records = []
        for _ in range(count):
            document = DocumentFactory(org=org, category=office)
            document_services.document_approve(document=document, actor=clerk)
            records.append(bill_record(document).pk)
        with CaptureQueriesContext(db) as captured:
            for pk in records:
                services.sync_record_push(record_id=pk, worker="w")
        return len(captured) / count

    assert queries_per_document(20) <= queries_per_document(5)


def test_retry_failed_skips_what_was_reconciled_by_hand(org, clerk, connection, drain, ledger):
    travel = CategoryFactory(org=org, name="Travel", code="999")
    documents = [DocumentFactory(org=org, category=travel) for _ in range(2)]
    for document in documents:
        document_services.document_approve(document=document, actor=clerk)
    (run,) = services.bulk_resync(org=org, document_ids=[d.pk for d in documents], actor=clerk)
    drain()
    reconciled = bill_record(documents[0])
    services.sync_status_update(
        org=org, record_ids=[reconciled.pk], to_status=RecordStatus.COMPLETE, actor=clerk
    )
    reconciled.refresh_from_db()
    assert reconciled.last_error_message == ""
    retry = services.retry_failed(run=run, actor=clerk)
    assert retry.total == 1
    assert not SyncRecord.objects.filter(run=retry, pk=reconciled.pk).exists()


def test_a_paid_expense_is_a_bill_and_its_payment(org, clerk, connection, drain, ledger, office):
    expense = DocumentFactory(org=org, kind="expense", category=office, number="EXP-1")
    document_services.document_approve(document=expense, actor=clerk)
    document_services.document_mark_paid(document=expense, actor=clerk, paid_at="2026-11-02")
    drain()
    entry = SyncRecord.objects.get(document=expense, payment__isnull=True)
    assert (entry.entry_type, entry.status) == ("expense", RecordStatus.COMPLETE)
    invoice = ledger.invoice(entry.external_id)
    assert (invoice["Type"], invoice["Status"]) == ("ACCPAY", "PAID")


def test_retry_failed_records_takes_only_the_failed_entries(org, clerk, connection, drain):
    travel = CategoryFactory(org=org, name="Travel", code="999")
    failing = DocumentFactory(org=org, category=travel)
    document_services.document_approve(document=failing, actor=clerk)
    drain()
    assert bill_record(failing).status == RecordStatus.FAILED
    run = services.retry_failed_records(
        org=org, connection=connection, document_ids=[failing.pk], actor=clerk
    )
    assert run.total == 1 and run.trigger == Trigger.RETRY
    assert bill_record(failing).pending_reason == "retry of failed items"
    drain()
    record = bill_record(failing)
    assert record.status == RecordStatus.FAILED  # still unmapped
    services.sync_status_update(
        org=org, record_ids=[record.pk], to_status=RecordStatus.COMPLETE, actor=clerk
    )
    assert (
        services.retry_failed_records(
            org=org, connection=connection, document_ids=[failing.pk], actor=clerk
        ).status_code
        == StatusCode.NOTHING_TO_PUSH
    )


def test_overlapping_runs_both_finish(org, clerk, connection, drain, ledger, office):
    documents = [DocumentFactory(org=org, category=office) for _ in range(3)]
    for document in documents:
        document_services.document_approve(document=document, actor=clerk)
    ids = [d.pk for d in documents]
    (first,) = services.bulk_resync(org=org, document_ids=ids, actor=clerk)
    (second,) = services.bulk_resync(org=org, document_ids=ids, actor=clerk)
    drain()
    for run in (first, second):
        run.refresh_from_db()
        assert (run.status_code, run.pushed, run.finished_at is not None) == (
            StatusCode.SUCCESS,
            3,
            True,
        )
    assert len(ledger.invoices()) == 3
