"""The sync rules that touch the ledger (DESIGN §4), run on each ledger's emulator in process: the
same engine, the same assertions, only the connector differs. Each ledger's own words (how it says
an entry is booked, which HTTP method creates) come from its `LedgerBooks` in
tests/ledger_fixtures.py."""

import datetime
from decimal import Decimal

import pytest

from documents import services as document_services
from documents.models import DocumentKind
from integrations import services as integration_services
from integrations.models import Provider
from synclog import services
from synclog.models import AttemptOutcome, Operation, RecordStatus, StatusCode, SyncRecord, Trigger
from synclog.ratelimit import Limits, get_rate_limiter
from tests.factories import CategoryFactory, DocumentFactory
from tests.ledger_fixtures import LEDGERS, UNLIMITED, credentials_from_token
from tests.synclog.conftest import bill_record

pytestmark = [pytest.mark.django_db, pytest.mark.parametrize("provider", LEDGERS)]


def test_approval_creates_one_bill_entry(approved_bill, drain, ledger_books, clerk):
    record = bill_record(approved_bill)
    assert (record.status, record.pending_reason) == (RecordStatus.PENDING, "approved")
    drain()
    record.refresh_from_db()
    assert record.status == RecordStatus.COMPLETE, record.last_error_message
    [entry] = ledger_books.bills()
    assert (entry.external_id, entry.number) == (record.external_id, approved_bill.number)
    assert record.synced_amount == Decimal("100.00")
    attempt = record.attempts.get()
    assert (attempt.trigger, attempt.reason, attempt.operation, attempt.outcome) == (
        Trigger.AUTO,
        "approved",
        Operation.CREATE,
        AttemptOutcome.SUCCESS,
    )
    assert (attempt.status_code, attempt.actor) == (StatusCode.SUCCESS, clerk)
    # A first push cannot have made an entry before: created at once, without a search.
    assert [call["method"] for call in attempt.calls] == [ledger_books.create_method]
    assert record.unknown_outcome is False


def test_an_edit_updates_the_same_entry(approved_bill, drain, ledger_books, clerk):
    drain()
    document_services.document_update(
        document=approved_bill, actor=clerk, data={"due_date": datetime.date(2026, 12, 20)}
    )
    record = bill_record(approved_bill)
    assert (record.status, record.pending_reason) == (RecordStatus.PENDING, "due date changed")
    drain()
    [entry] = ledger_books.bills()
    assert entry.due_date == datetime.date(2026, 12, 20)
    last = record.attempts.first()
    assert (last.operation, last.reason, last.outcome) == (
        Operation.UPDATE,
        "due date changed",
        AttemptOutcome.SUCCESS,
    )


def test_a_payment_after_the_bill(approved_bill, drain, ledger_books, clerk):
    document_services.payment_record(
        document=approved_bill, actor=clerk, amount="40.00", paid_at="2026-11-05"
    )
    drain()
    records = SyncRecord.objects.filter(document=approved_bill)
    assert {r.entry_type: r.status for r in records} == {
        "bill": RecordStatus.COMPLETE,
        "bill_payment": RecordStatus.COMPLETE,
    }
    entry = ledger_books.bill(bill_record(approved_bill).external_id)
    assert (entry.amount_paid, entry.amount_due) == (Decimal("40.00"), Decimal("60.00"))


def test_a_resync_of_an_unchanged_document_writes_nothing(
    approved_bill, drain, connection, clerk, ledger_books
):
    drain()
    writes = len(ledger_books.writes())
    run = services.resync(document=approved_bill, connection=connection, entry="bill", actor=clerk)
    drain()
    attempt = bill_record(approved_bill).attempts.first()
    # It reads what the ledger holds now; nothing differs, so nothing is written.
    assert (attempt.operation, attempt.status_code) == (
        Operation.NOTHING_TO_PUSH,
        StatusCode.NOTHING_TO_PUSH,
    )
    assert attempt.calls and len(ledger_books.writes()) == writes
    run.refresh_from_db()
    assert (run.status_code, run.nothing_to_push, run.finished_at is not None) == (
        StatusCode.NOTHING_TO_PUSH,
        1,
        True,
    )
    assert len(ledger_books.bills()) == 1


def test_a_resync_after_an_edit_behind_our_back_puts_the_document_back(
    approved_bill, drain, connection, clerk, ledger_books
):
    drain()
    record = bill_record(approved_bill)
    ledger_books.change_due_date(record.external_id, datetime.date(2027, 1, 31))
    services.resync(document=approved_bill, connection=connection, entry="bill", actor=clerk)
    drain()
    assert ledger_books.bill(record.external_id).due_date == approved_bill.due_date
    assert record.attempts.first().operation == Operation.UPDATE


def test_a_booked_entry_fails_with_the_ledgers_words_and_no_second_entry(
    approved_bill, drain, ledger_books, clerk
):
    drain()
    record = bill_record(approved_bill)
    ledger_books.book(record.external_id)
    document_services.document_update(
        document=approved_bill, actor=clerk, data={"due_date": datetime.date(2026, 12, 24)}
    )
    drain()
    record.refresh_from_db()
    assert record.status == RecordStatus.FAILED
    assert record.last_error_code == StatusCode.DATA_PUSH
    assert ledger_books.booked_words in record.last_error_message
    assert record.last_error_explanation and record.last_error_hint
    assert len(ledger_books.bills()) == 1


def test_a_server_error_is_retried_then_complete(approved_bill, drain, ledger_books):
    ledger_books.set_faults(fail_next={"count": 1, "status": 503})
    record = bill_record(approved_bill)
    wait = services.sync_record_push(record_id=record.pk, worker="w")
    record.refresh_from_db()
    assert wait > 0 and record.status == RecordStatus.PENDING
    assert record.attempt_count == 1 and record.next_retry_at is not None
    # Not due yet: a second worker does nothing.
    assert services.sync_record_push(record_id=record.pk, worker="w2") is None
    drain()
    record.refresh_from_db()
    assert record.status == RecordStatus.COMPLETE
    outcomes = list(record.attempts.order_by("started_at").values_list("outcome", "status_code"))
    assert outcomes == [
        (AttemptOutcome.FAILED, StatusCode.SERVER_ERROR),
        (AttemptOutcome.SUCCESS, 2000),
    ]
    assert len(ledger_books.bills()) == 1


def test_a_throttle_waits_and_succeeds(approved_bill, drain, ledger_books):
    ledger_books.set_faults(burst_429=1)
    record = bill_record(approved_bill)
    # The ledger's wait: Xero's Retry-After; QuickBooks sends none and says to wait a minute.
    wait = services.sync_record_push(record_id=record.pk, worker="w")
    assert wait >= ledger_books.throttle_wait_seconds
    record.refresh_from_db()
    assert record.status == RecordStatus.PENDING
    # Until then the connection's quota (MYOB: the app key's) is paused; then (as if the wait
    # has passed) it goes.
    limiter_key = services.connection_quota_key(connection=record.connection)
    assert get_rate_limiter().wait_for(limiter_key, Limits(**UNLIMITED)) > 0
    get_rate_limiter().reset(limiter_key)
    drain()
    record.refresh_from_db()
    assert record.status == RecordStatus.COMPLETE
    assert record.attempts.filter(http_status=429).count() == 1
    assert len(ledger_books.bills()) == 1


def test_a_lost_answer_is_an_unknown_outcome_then_linked_not_doubled(
    approved_bill, drain, ledger_books
):
    ledger_books.set_faults(drop_response_next=1)
    record = bill_record(approved_bill)
    services.sync_record_push(record_id=record.pk, worker="w")
    record.refresh_from_db()
    assert (record.status, record.unknown_outcome) == (RecordStatus.PENDING, True)
    assert record.attempts.get().outcome == AttemptOutcome.UNKNOWN
    drain()
    record.refresh_from_db()
    assert record.status == RecordStatus.COMPLETE and not record.unknown_outcome
    assert len(ledger_books.bills()) == 1
    assert record.attempts.first().operation == Operation.LINK


def test_revoked_access_waits_for_the_reconnect(approved_bill, drain, ledger_books, connection):
    ledger_books.revoke_tokens()
    drain()
    connection.refresh_from_db()
    record = bill_record(approved_bill)
    assert connection.status == "needs_reauth"
    assert record.status == RecordStatus.PENDING
    assert record.attempts.get().status_code == StatusCode.DEAUTHORISED
    drain()  # nothing happens while it waits
    assert record.attempts.count() == 1

    integration_services.connection_credentials_save(
        connection=connection, credentials=credentials_from_token(ledger_books.connect())
    )
    integration_services.connection_test(connection=connection)
    connection.refresh_from_db()
    assert connection.status == "active"
    drain()
    record.refresh_from_db()
    assert record.status == RecordStatus.COMPLETE
    assert len(ledger_books.bills()) == 1


def test_a_missing_mapping_fails_at_once_then_the_retry_after_the_fix_pushes(
    org, clerk, vendor, drain, connection, ledger_books, office
):
    travel = CategoryFactory(org=org, name="Travel", code="493")
    documents = [DocumentFactory(org=org, contact=vendor, category=c) for c in (office, travel)]
    for document in documents:
        document_services.document_approve(document=document, actor=clerk)
    (run,) = services.bulk_resync(org=org, document_ids=[d.pk for d in documents], actor=clerk)
    drain()
    record = bill_record(documents[1])
    assert (record.status, record.last_error_code) == (
        RecordStatus.FAILED,
        StatusCode.CONFIGURATION,
    )
    assert f"Category Travel has no {ledger_books.display_name} mapping" in (
        record.last_error_message
    )
    assert record.attempts.get().calls == []  # nothing was sent
    assert len(ledger_books.bills()) == 1

    ledger_books.map_categories(connection)
    retry = services.retry_failed(run=run, actor=clerk)
    drain()
    retry.refresh_from_db()
    assert (retry.total, retry.status_code, retry.pushed) == (1, StatusCode.SUCCESS, 1)
    assert len(ledger_books.bills()) == 2


def test_void_after_push_voids_the_entry(approved_bill, clerk, drain, ledger_books):
    drain()
    document_services.document_void(document=approved_bill, actor=clerk)
    drain()
    record = bill_record(approved_bill)
    assert record.status == RecordStatus.COMPLETE, record.last_error_message
    assert ledger_books.is_voided(record.external_id)


@pytest.mark.parametrize("expense_type", ["card", "bank"])
def test_card_and_bank_expenses_are_spent_from_their_account(
    org, clerk, vendor, office, connection, drain, ledger_books, expense_type
):
    account = ledger_books.spend_accounts[expense_type]
    connection.settings = {**connection.settings, "spend_account_codes": {expense_type: account}}
    connection.save()
    document = document_services.document_create(
        org=org,
        actor=clerk,
        kind=DocumentKind.EXPENSE,
        expense_type=expense_type,
        number="EXP-1",
        contact=vendor,
        issue_date=datetime.date(2026, 11, 5),
        due_date=datetime.date(2026, 11, 5),
        currency="USD",
        total="108.50",
        category=office,
        lines=[
            {"description": "Taxi", "quantity": "1", "unit_amount": "58.50", "category": office},
            {"description": "Lunch", "quantity": "2", "unit_amount": "25.00", "category": office},
        ],
    )
    document_services.document_submit(document=document, actor=clerk)
    document_services.document_approve(document=document, actor=clerk)
    drain()
    record = SyncRecord.objects.get(document=document)
    assert record.status == RecordStatus.COMPLETE, record.last_error_message
    assert ledger_books.bills() == []  # no bill, no payment: spent at once
    assert ledger_books.spends() == [(record.external_id, "EXP-1", account, Decimal("108.50"))]

    document_services.document_update(document=document, actor=clerk, data={"number": "EXP-1b"})
    drain()
    assert ledger_books.spends() == [(record.external_id, "EXP-1b", account, Decimal("108.50"))]
    document_services.document_void(document=document, actor=clerk)
    drain()
    record.refresh_from_db()
    assert record.status == RecordStatus.COMPLETE, record.last_error_message
    assert ledger_books.spends() == []


def test_a_resync_of_a_bill_with_quantities_writes_nothing(
    org, clerk, vendor, office, connection, drain, ledger_books
):
    document = document_services.document_create(
        org=org,
        actor=clerk,
        number="Q-1",
        contact=vendor,
        issue_date=datetime.date(2026, 11, 1),
        due_date=datetime.date(2026, 11, 30),
        currency="USD",
        total="80.00",
        category=office,
        lines=[{"description": "Toner", "quantity": "4", "unit_amount": "20.00"}],
    )
    document_services.document_submit(document=document, actor=clerk)
    document = document_services.document_approve(document=document, actor=clerk)
    drain()
    writes = len(ledger_books.writes())
    services.resync(document=document, connection=connection, entry="bill", actor=clerk)
    drain()
    attempt = bill_record(document).attempts.first()
    assert (attempt.operation, attempt.status_code) == (
        Operation.NOTHING_TO_PUSH,
        StatusCode.NOTHING_TO_PUSH,
    )
    assert len(ledger_books.writes()) == writes


def test_a_part_payment_books_the_bill_where_the_ledger_then_refuses_its_changes(
    approved_bill, drain, ledger_books, clerk, provider
):
    """Xero and MYOB take no change to a bill with a payment against it; QuickBooks does (all
    but a total below what is paid). Seen on the demo: a QuickBooks bill with 10.00 of 64.00
    paid was marked booked, its edit page warned that QuickBooks would refuse the change, and
    QuickBooks took it."""
    document_services.payment_record(
        document=approved_bill, actor=clerk, amount="40.00", paid_at="2026-11-05"
    )
    drain()
    record = bill_record(approved_bill)
    assert record.booked is (provider != Provider.QUICKBOOKS)
    document_services.document_update(
        document=approved_bill, actor=clerk, data={"due_date": datetime.date(2026, 12, 24)}
    )
    drain()
    record.refresh_from_db()
    if provider == Provider.QUICKBOOKS:
        assert record.status == RecordStatus.COMPLETE, record.last_error_message
        assert ledger_books.bill(record.external_id).due_date == datetime.date(2026, 12, 24)
    else:
        assert record.status == RecordStatus.FAILED
