"""Whatever the ledger answered is logged even when the database goes away just afterwards.

The outage is real at the driver's edge: once the ledger has answered, the next queries on the
worker's connection fail with OperationalError (as they do while PostgreSQL restarts), and the
engine must save the answer again on a new connection. Drill 8d found a batch whose create
timed out while PostgreSQL was down: its two calls were made but never logged.
"""

import httpx
import pytest
from django.db import OperationalError
from django.db import connection as db_connection

from synclog import services
from synclog.models import AttemptOutcome, Operation, RecordStatus, SyncAttempt, SyncRecord
from synclog.services import attempt_log
from tests.synclog.conftest import approved_bills, run_records

pytestmark = pytest.mark.django_db(transaction=True)


class DatabaseOutage:
    """Fails the next `queries` statements once armed (by the ledger's first answer)."""

    def __init__(self, queries: int):
        self.queries = queries
        self.armed = False
        self.failed = 0

    def __call__(self, execute, sql, params, many, context):
        if self.armed and self.failed < self.queries:
            self.failed += 1
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)


@pytest.fixture
def outage_after_the_ledger_answers(monkeypatch, settings):
    """The database goes away for two statements right after each push's first ledger call."""
    settings.SYNC_DB_RETRY_SECONDS = 10
    outage = DatabaseOutage(queries=2)
    record_call = attempt_log._AttemptLog.record

    def record_and_arm(log, call):
        record_call(log, call)
        outage.armed = True

    monkeypatch.setattr(attempt_log._AttemptLog, "record", record_and_arm)
    with db_connection.execute_wrapper(outage):
        yield outage


FAULTS = {
    "server-error": {"fail_next": {"count": 1, "status": 503}},
    "lost-answer": {"drop_response_next": 1},
}


def assert_every_call_logged(records, *, calls: int):
    logged = {
        (attempt.started_at, index)
        for attempt in SyncAttempt.objects.filter(record__in=records)
        for index in range(len(attempt.calls))
    }
    assert len(logged) == calls


@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
def test_a_failed_push_is_logged_through_an_outage(
    approved_bill, ledger, outage_after_the_ledger_answers, fault
):
    ledger.set_faults(**FAULTS[fault])
    record = SyncRecord.objects.get(document=approved_bill, payment__isnull=True)
    wait = services.sync_record_push(record_id=record.pk, worker="w")
    assert outage_after_the_ledger_answers.failed == 2
    assert wait and wait > 0
    record.refresh_from_db()
    assert (record.status, record.attempt_count) == (RecordStatus.PENDING, 1)
    attempt = record.attempts.get()
    expected = AttemptOutcome.UNKNOWN if fault == "lost-answer" else AttemptOutcome.FAILED
    assert attempt.outcome == expected
    assert attempt.calls  # the call that went wrong is in the log


@pytest.mark.parametrize("fault", FAULTS, ids=list(FAULTS))
def test_a_failed_batch_is_logged_through_an_outage(
    org, clerk, connection, office, ledger, outage_after_the_ledger_answers, fault
):
    documents = approved_bills(org, clerk, office, 4)
    (run,) = services.bulk_resync(org=org, document_ids=[d.pk for d in documents], actor=clerk)
    record_ids = run_records(run)
    outage = outage_after_the_ledger_answers
    # A first push is the create alone: it fails, and the database is away when that is saved.
    ledger.set_faults(**FAULTS[fault])
    waits = services.sync_batch_push(record_ids=record_ids, worker="w")
    assert outage.failed == 2
    assert set(waits) == set(record_ids)
    records = SyncRecord.objects.filter(pk__in=record_ids)
    assert set(records.values_list("status", flat=True)) == {RecordStatus.PENDING}
    assert_every_call_logged(records, calls=1)  # the create
    # The retry links what the lost answer made, or creates: one entry per bill either way.
    records.update(next_retry_at=None)
    assert services.sync_batch_push(record_ids=record_ids, worker="w") == {}
    assert len(ledger.invoices()) == 4
    assert set(records.values_list("status", flat=True)) == {RecordStatus.COMPLETE}
    operation = Operation.LINK if fault == "lost-answer" else Operation.CREATE
    succeeded = SyncAttempt.objects.filter(outcome=AttemptOutcome.SUCCESS)
    assert set(succeeded.values_list("operation", flat=True)) == {operation}


def test_a_rotated_refresh_token_is_saved_through_an_outage(
    approved_bill, ledger, connection, monkeypatch, settings
):
    """Xero kills the old refresh token when it issues a new one: losing the new one to a
    restart of the database would cost the tenant a reconnect."""
    from integrations import services as integration_services

    settings.SYNC_DB_RETRY_SECONDS = 10
    outage = DatabaseOutage(queries=2)
    transport = integration_services.ledger.ledger_transport(connection)

    class ArmedByTheTokenService(httpx.BaseTransport):
        def handle_request(self, request):
            response = transport.handle_request(request)
            if request.url.path.endswith("/connect/token"):
                outage.armed = True
            return response

        def close(self):
            transport.close()

    monkeypatch.setattr(
        integration_services.ledger, "ledger_transport", lambda c: ArmedByTheTokenService()
    )
    ledger.expire_tokens()
    old_refresh_token = connection.credentials["refresh_token"]
    record = SyncRecord.objects.get(document=approved_bill, payment__isnull=True)
    with db_connection.execute_wrapper(outage):
        assert services.sync_record_push(record_id=record.pk, worker="w") is None
    assert outage.failed == 2
    connection.refresh_from_db()
    assert connection.credentials["refresh_token"] != old_refresh_token
    record.refresh_from_db()
    assert record.status == RecordStatus.COMPLETE
    # The saved token is the live one: the next refresh works.
    ledger.expire_tokens()
    assert integration_services.connector_for(connection).list_accounts()
