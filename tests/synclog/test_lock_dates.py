"""The ledger's lock date before a push (issue 17, item 2), on each ledger's emulator in process:
the lock date read through the connector (in the connection's quota), a push dated in the
locked period held without a call and released when the lock moves, or re-dated to the first
open day with both dates on the attempt; a ledger's refusal for its lock makes the engine read
the lock date again."""

import datetime

import pytest

from documents import services as document_services
from integrations import services as integration_services
from integrations import tasks as integration_tasks
from integrations.models import ConnectionEvent, ConnectionEventKind, LockedPeriodPolicy, Provider
from integrations.selectors import mapping_index
from synclog import services
from synclog.models import RecordStatus, StatusCode, SyncRecord, Trigger
from synclog.ratelimit import get_rate_limiter
from synclog.selectors.locks import connection_locked_entries
from synclog.services.entries import _build_payload
from tests.ledger_fixtures import LEDGERS, UNLIMITED
from tests.synclog.conftest import bill_record

pytestmark = [pytest.mark.django_db, pytest.mark.parametrize("provider", LEDGERS)]

NOV = {day: datetime.date(2026, 11, day) for day in range(1, 31)}
OCT_31 = datetime.date(2026, 10, 31)


def lock_ledger(ledger_books, day):
    """Move the lock date in the emulator (the ledger's own page would)."""
    emulator = ledger_books.emulator
    if ledger_books.provider == Provider.QUICKBOOKS:
        emulator.set_book_close_date(date=day)
    elif ledger_books.provider == Provider.MYOB:
        emulator.set_lock_date(date=day)
    else:
        emulator.set_lock_date(lock_date=day)


def refresh(connection):
    integration_services.connection_lock_date_refresh(connection=connection)
    connection.refresh_from_db()


def test_the_lock_date_is_read_through_the_connector_within_the_quota(connection, ledger_books):
    connection.settings = {**connection.settings, "rate_limits": UNLIMITED}
    connection.save(update_fields=["settings"])
    key = services.connection_quota_key(connection=connection)
    limits = services.connection_quota(connection=connection)
    get_rate_limiter().reset(key)
    lock_ledger(ledger_books, NOV[15])
    refresh(connection)
    assert connection.lock_date == NOV[15]
    assert connection.lock_date_read_at is not None and connection.lock_date_source
    used, _ = get_rate_limiter().window_usage(key, limits)
    assert used == 1  # one request, counted as a page's read is
    lock_ledger(ledger_books, None)
    refresh(connection)
    assert connection.lock_date is None


def test_a_push_in_the_locked_period_is_held_then_released_when_the_lock_moves(
    connection, ledger_books, bill, clerk, drain, monkeypatch
):
    lock_ledger(ledger_books, NOV[15])
    refresh(connection)
    document_services.document_approve(document=bill, actor=clerk)  # dated 1 Nov 2026
    drain()
    record = bill_record(bill)
    assert record.status == RecordStatus.FAILED
    assert record.last_error_code == StatusCode.DATA_PUSH
    assert record.last_error_message == (
        f"Locked until 15 Nov 2026 in {ledger_books.display_name}: held, not sent."
    )
    assert "dated 1 Nov 2026" in record.last_error_explanation
    # A retry would be held again until the lock date is read: when that happens, and how an
    # admin reads it at once.
    assert "reads the lock date again every 60 minutes" in record.last_error_explanation
    assert "“Read the lock date again”" in record.last_error_explanation
    assert "lock date" in record.last_error_hint
    attempt = record.attempts.get()
    assert (attempt.outcome, attempt.calls) == ("skipped", [])  # nothing sent, no quota taken
    assert ledger_books.bills() == []
    # The lock moves to October: the next read releases it, and it is pushed.
    lock_ledger(ledger_books, OCT_31)
    refresh(connection)
    record.refresh_from_db()
    assert (record.status, record.pending_trigger) == (RecordStatus.PENDING, Trigger.AUTO)
    assert "lock date moved" in record.pending_reason
    drain()
    record.refresh_from_db()
    assert record.status == RecordStatus.COMPLETE, record.last_error_message
    [entry] = ledger_books.bills()
    assert entry.external_id == record.external_id


def test_a_lock_that_still_covers_it_keeps_it_held(connection, ledger_books, bill, clerk, drain):
    lock_ledger(ledger_books, NOV[15])
    refresh(connection)
    document_services.document_approve(document=bill, actor=clerk)
    drain()
    lock_ledger(ledger_books, NOV[5])  # earlier, but the bill (1 Nov) is still in it
    refresh(connection)
    record = bill_record(bill)
    assert record.status == RecordStatus.FAILED
    assert record.last_error_message.startswith("Locked until 15 Nov 2026")


def test_redating_sends_it_on_the_first_open_day_and_logs_both_dates(
    connection, ledger_books, bill, clerk, drain, admin_client
):
    lock_ledger(ledger_books, NOV[10])
    refresh(connection)
    integration_services.connection_locked_period_policy_set(
        connection=connection, policy=LockedPeriodPolicy.REDATE, actor=clerk
    )
    document_services.document_approve(document=bill, actor=clerk)
    document_services.payment_record(
        document=bill, actor=clerk, amount="100.00", paid_at="2026-11-05"
    )
    drain()
    records = {r.entry_type: r for r in SyncRecord.objects.filter(document=bill)}
    assert {t: r.status for t, r in records.items()} == {
        "bill": RecordStatus.COMPLETE,
        "bill_payment": RecordStatus.COMPLETE,
    }, [r.last_error_message for r in records.values()]
    bill_attempt = records["bill"].attempts.get()
    assert "re-dated 2026-11-01 → 2026-11-11" in bill_attempt.reason
    assert "re-dated 2026-11-05 → 2026-11-11" in records["bill_payment"].attempts.get().reason
    entry = ledger_books.bill(records["bill"].external_id)
    assert entry.amount_due == 0
    # The hash is the document's own payload: an unchanged document is not pushed again.
    payload = _build_payload(
        bill, connection=connection, mappings=mapping_index(connection=connection)
    )
    assert records["bill"].payload_hash == services.payload_hash(payload)


def test_switching_to_redating_releases_what_was_held(connection, ledger_books, bill, clerk, drain):
    lock_ledger(ledger_books, NOV[15])
    refresh(connection)
    document_services.document_approve(document=bill, actor=clerk)
    drain()
    assert bill_record(bill).status == RecordStatus.FAILED
    integration_services.connection_locked_period_policy_set(
        connection=connection, policy=LockedPeriodPolicy.REDATE, actor=clerk
    )
    event = ConnectionEvent.objects.filter(connection=connection).first()
    assert event.kind == ConnectionEventKind.POLICY_CHANGED
    assert event.actor == clerk and "Re-date" in event.note
    assert bill_record(bill).status == RecordStatus.PENDING
    drain()
    record = bill_record(bill)
    assert record.status == RecordStatus.COMPLETE, record.last_error_message


def test_a_refusal_for_the_ledgers_lock_reads_it_again_and_holds_the_entry(
    connection, ledger_books, bill, clerk, drain, monkeypatch, django_capture_on_commit_callbacks
):
    # The lock moved in the ledger since we read it: the ledger refuses the push.
    lock_ledger(ledger_books, NOV[15])
    read = []

    def refresh_now(connection_id, record_ids):
        read.append(record_ids)
        integration_tasks.connection_lock_date_refresh(connection_id, record_ids)

    monkeypatch.setattr(integration_tasks.connection_lock_date_refresh, "delay", refresh_now)
    document_services.document_approve(document=bill, actor=clerk)
    with django_capture_on_commit_callbacks(execute=True):
        services.sync_record_push(record_id=bill_record(bill).pk, worker="test")
    record = bill_record(bill)
    assert read == [[record.pk]]
    connection.refresh_from_db()
    assert connection.lock_date == NOV[15]
    # Pushed again at once, the pre-flight now holds it with the date read.
    assert record.status == RecordStatus.PENDING
    drain()
    record.refresh_from_db()
    assert record.status == RecordStatus.FAILED
    assert record.last_error_message.startswith("Locked until 15 Nov 2026")
    assert ledger_books.bills() == []


def test_a_bulk_run_holds_its_locked_entries_and_pushes_the_others(
    connection, ledger_books, bill, clerk, org, vendor, office
):
    from tests.factories import DocumentFactory

    later = DocumentFactory(
        org=org,
        contact=vendor,
        category=office,
        issue_date=NOV[20],
        due_date=NOV[30],
        number="INV-LATER",
    )
    lock_ledger(ledger_books, NOV[15])
    refresh(connection)
    for document in (bill, later):
        document_services.document_approve(document=document, actor=clerk)
    SyncRecord.objects.update(status=RecordStatus.COMPLETE)  # only the run pushes them
    [run] = services.bulk_resync(
        org=org, connection=connection, document_ids=[bill.pk, later.pk], actor=clerk
    )
    ids = list(SyncRecord.objects.filter(run=run).values_list("pk", flat=True))
    services.sync_batch_push(record_ids=ids, worker="test")
    assert bill_record(bill).status == RecordStatus.FAILED
    assert bill_record(bill).last_error_message.startswith("Locked until")
    assert bill_record(later).status == RecordStatus.COMPLETE
    assert [entry.number for entry in ledger_books.bills()] == ["INV-LATER"]


def test_the_selector_says_which_entries_are_locked_and_until_when(
    connection, ledger_books, bill, clerk, org, other_org, django_assert_max_num_queries
):
    document_services.document_approve(document=bill, actor=clerk)
    document_services.payment_record(
        document=bill, actor=clerk, amount="40.00", paid_at="2026-11-20"
    )
    lock_ledger(ledger_books, NOV[15])
    refresh(connection)
    with django_assert_max_num_queries(2):
        locked = connection_locked_entries(connection=connection, document_ids=[bill.pk])
    assert [(e.document_id, e.entry_type, e.dated, e.locked_until) for e in locked] == [
        (bill.pk, "bill", NOV[1], NOV[15])
    ]
    # Another organisation's documents are not this connection's to count.
    from tests.factories import DocumentFactory

    theirs = DocumentFactory(org=other_org)
    assert connection_locked_entries(connection=connection, document_ids=[theirs.pk]) == []


def test_xero_holds_back_to_the_later_of_its_two_lock_dates(connection, ledger_books, provider):
    if provider != Provider.XERO:
        pytest.skip("Xero's period and end of year lock dates")
    ledger_books.emulator.set_lock_date(lock_date=NOV[5])
    ledger_books.emulator.set_lock_date(lock_date=NOV[12], end_of_year=True)
    refresh(connection)
    assert connection.lock_date == NOV[12]
    assert connection.lock_date_source == (
        "PeriodLockDate 2026-11-05, EndOfYearLockDate 2026-11-12"
    )


def test_a_payment_dated_in_the_locked_period_is_held_then_released(
    connection, ledger_books, bill, clerk, drain
):
    document_services.document_approve(document=bill, actor=clerk)
    drain()  # the bill (1 Nov) is in the ledger before the period is closed
    lock_ledger(ledger_books, NOV[10])
    refresh(connection)
    document_services.payment_record(
        document=bill, actor=clerk, amount="40.00", paid_at="2026-11-05"
    )
    drain()
    payment = SyncRecord.objects.get(document=bill, payment__isnull=False)
    assert payment.status == RecordStatus.FAILED and payment.held_for_lock
    assert "this payment is dated 5 Nov 2026" in payment.last_error_explanation
    assert ledger_books.bill(bill_record(bill).external_id).amount_paid == 0
    lock_ledger(ledger_books, None)
    refresh(connection)
    drain()
    payment.refresh_from_db()
    assert payment.status == RecordStatus.COMPLETE, payment.last_error_message
    assert ledger_books.bill(bill_record(bill).external_id).amount_paid == 40


def test_the_refresh_task_reschedules_itself_when_the_quota_has_no_room(
    connection, ledger_books, monkeypatch
):
    from tests.ledger_fixtures import quota_spend

    connection.settings = {
        **connection.settings,
        "rate_limits": {**UNLIMITED, "per_window": 2, "window_seconds": 60},
    }
    connection.save(update_fields=["settings"])
    get_rate_limiter().reset(services.connection_quota_key(connection=connection))
    quota_spend(connection, 2)  # the syncs spent the minute
    later = []
    monkeypatch.setattr(
        integration_tasks.connection_lock_date_refresh,
        "apply_async",
        lambda args, countdown: later.append((args, countdown)),
    )
    integration_tasks.connection_lock_date_refresh(connection.pk, None)
    [(args, countdown)] = later
    assert args == [connection.pk, None] and 1 <= countdown <= 60
    connection.refresh_from_db()
    assert connection.lock_date_read_at is None  # nothing was read, nothing sent


def test_a_change_to_an_entry_in_the_locked_period_is_held_even_when_redating(
    connection, ledger_books, bill, clerk, drain
):
    document_services.document_approve(document=bill, actor=clerk)
    drain()
    lock_ledger(ledger_books, NOV[15])
    refresh(connection)
    integration_services.connection_locked_period_policy_set(
        connection=connection, policy=LockedPeriodPolicy.REDATE, actor=clerk
    )
    document_services.document_update(
        document=bill, actor=clerk, data={"due_date": datetime.date(2026, 12, 20)}
    )
    drain()
    record = bill_record(bill)
    assert record.held_for_lock
    assert record.last_error_message == (
        f"Locked until 15 Nov 2026 in {ledger_books.display_name}: the change was held, not sent."
    )
    assert "correct the document here" in record.last_error_hint
    assert ledger_books.bill(record.external_id).due_date == NOV[30]  # unchanged there
    attempts = record.attempts.count()
    refresh(connection)  # the lock has not moved: it stays held, not tried again
    assert bill_record(bill).status == RecordStatus.FAILED
    assert record.attempts.count() == attempts
    lock_ledger(ledger_books, OCT_31)
    refresh(connection)
    drain()
    record.refresh_from_db()
    assert record.status == RecordStatus.COMPLETE, record.last_error_message
    assert ledger_books.bill(record.external_id).due_date == datetime.date(2026, 12, 20)


def test_a_change_moving_an_entry_out_of_the_locked_period_is_held_too(
    connection, ledger_books, bill, clerk, drain
):
    """The ledger holds the entry dated 1 Nov, in the locked period: it takes no change to it,
    even one that dates the document in December. Held without a call, released by the lock's
    move."""
    document_services.document_approve(document=bill, actor=clerk)  # dated 1 Nov 2026
    drain()
    record = bill_record(bill)
    assert (record.status, record.synced_entry_date) == (RecordStatus.COMPLETE, NOV[1])
    lock_ledger(ledger_books, NOV[15])
    refresh(connection)
    calls = len(ledger_books.emulator.state()["requests"])
    document_services.document_update(
        document=bill,
        actor=clerk,
        data={"issue_date": datetime.date(2026, 12, 2), "due_date": datetime.date(2026, 12, 31)},
    )
    drain()
    record.refresh_from_db()
    assert record.held_for_lock
    assert record.last_error_message == (
        f"Locked until 15 Nov 2026 in {ledger_books.display_name}: the change was held, not sent."
    )
    assert "dated 1 Nov 2026" in record.last_error_explanation
    assert len(ledger_books.emulator.state()["requests"]) == calls  # nothing sent
    lock_ledger(ledger_books, OCT_31)
    refresh(connection)
    drain()
    record.refresh_from_db()
    assert record.status == RecordStatus.COMPLETE, record.last_error_message
    assert record.synced_entry_date == datetime.date(2026, 12, 2)
