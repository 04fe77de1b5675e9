"""The sync engine with real Celery worker processes, against the Xero emulator over HTTP.

Nothing is eager here: documents are changed in the test process, tasks go through Redis to
`celery worker` processes (prefork), which push to the emulator's HTTP server on loopback and
write to the test's PostgreSQL database. Hence `transaction=True`: the rows must be committed for
another process to see them, and `transaction.on_commit` must really fire.

Run with `-s` to see the figures (seconds until Complete, kills, lost messages).
"""

import datetime
import logging
import re
import shutil
import time
from collections import Counter

import pytest
from django.conf import settings
from django.urls import reverse
from kombu.exceptions import OperationalError

from bench.harness.processes import broker_for_this_process, pids_matching, wait_until
from documents import services as document_services
from documents.models import DocumentStatus
from integrations.emulators.xero import running_emulator
from integrations.payloads import document_reference
from synclog import services
from synclog.models import AttemptOutcome, Operation, RecordStatus, SyncAttempt, SyncRecord, Trigger
from tests.factories import DocumentFactory
from tests.ledger_fixtures import XeroBooks
from tests.synclog.conftest import bill_record
from tests.synclog.worker_harness import FAST_SYNC, WORKER_MARKS, own_redis, worker_pool

pytestmark = WORKER_MARKS

REF = re.compile(r"[?&]ref=([^&#]+)")
SWEEP_DONE = re.compile(r"sync_sweep\[[^\]]+\] succeeded in [\d.e-]+s: (\d+)")


# --- fixtures --------------------------------------------------------------------------------


@pytest.fixture
def fast_sync(settings):
    # The test process marks records and enqueues (coalescing delay): same timings as workers.
    for name, value in FAST_SYNC.items():
        setattr(settings, name, value)
    settings.LEDGER_EMULATOR_ALLOWED = True


@pytest.fixture
def xero_server(caplog, settings):
    """The emulator as a real threaded HTTP server on a free loopback port (the configured
    emulator address for the test and its workers)."""
    # httpx logs every request at INFO: it would drown the figures printed with -s.
    caplog.set_level(logging.WARNING, logger="httpx")
    with running_emulator(port=0) as (url, emulator):
        settings.XERO_EMULATOR_URL = url
        emulator.set_rate_limits(calls_per_window=100_000, max_concurrent=100, calls_per_day=10**7)
        yield url, emulator


@pytest.fixture
def xero_connection(org, category, xero_server, fast_sync):
    url, emulator = xero_server
    return XeroBooks(emulator).connect_org(org, base_url=url)


@pytest.fixture
def workers(request, tmp_path, xero_server):
    # Depends on the emulator so that workers stop before the emulator does.
    failed_before = request.session.testsfailed
    with worker_pool(tmp_path, broker_url=settings.CELERY_BROKER_URL) as pool:
        yield pool
        # A fixture does not see the test's exception: the session's failure count tells.
        if request.session.testsfailed > failed_before:
            print(pool.logs())


# --- helpers ---------------------------------------------------------------------------------


def make_bills(org, vendor, category, n, **kwargs):
    return DocumentFactory.create_batch(n, org=org, contact=vendor, category=category, **kwargs)


def statuses(record_ids) -> Counter:
    rows = SyncRecord.objects.filter(pk__in=list(record_ids)).values_list("status", flat=True)
    return Counter(RecordStatus(status).label for status in rows)


def all_complete(record_ids) -> bool:
    ids = list(record_ids)
    done = SyncRecord.objects.filter(pk__in=ids, status=RecordStatus.COMPLETE).count()
    return done == len(ids)


def wait_complete(record_ids, *, timeout: float) -> float:
    """Seconds until every record is Complete."""
    started = time.monotonic()
    wait_until(
        lambda: all_complete(record_ids),
        timeout=timeout,
        interval=0.1,
        what=lambda: f"records Complete; now {dict(statuses(record_ids))}",
    )
    return time.monotonic() - started


def records_swept(workers) -> int:
    """Records the workers' sweeps re-enqueued, from their logs (the task returns the count)."""
    return sum(
        int(count)
        for worker in workers
        for count in SWEEP_DONE.findall(worker.log_path.read_text(errors="replace"))
    )


def bills_in_ledger(emulator) -> list[dict]:
    return [invoice for invoice in emulator.invoices() if invoice["Type"] == "ACCPAY"]


def references_in_ledger(emulator) -> Counter:
    """How many ledger entries carry each document's reference (it rides in the entry's Url)."""
    refs = Counter()
    for invoice in bills_in_ledger(emulator):
        match = REF.search(invoice.get("Url") or "")
        refs[match.group(1) if match else None] += 1
    return refs


def assert_one_entry_per_document(emulator, documents, records) -> None:
    """Nothing lost and nothing doubled: one entry per document, each linked to its record."""
    refs = references_in_ledger(emulator)
    expected = {document_reference(document) for document in documents}
    doubled = {ref: n for ref, n in refs.items() if n > 1}
    assert not doubled, f"duplicate ledger entries: {doubled}"
    assert set(refs) == expected, f"missing {expected - set(refs)}, extra {set(refs) - expected}"
    assert len(bills_in_ledger(emulator)) == len(documents)
    ids_in_ledger = {invoice["InvoiceID"] for invoice in bills_in_ledger(emulator)}
    linked = [record.external_id for record in records]
    assert len(set(linked)) == len(linked) and set(linked) == ids_in_ledger


# --- 1. the whole life of a bill --------------------------------------------------------------


def test_approve_edit_and_pay_reach_the_ledger_through_a_worker(
    workers, xero_server, xero_connection, org, clerk, vendor, category
):
    _, emulator = xero_server
    workers.start()
    bill = make_bills(org, vendor, category, 1)[0]

    started = time.monotonic()
    document_services.document_approve(document=bill, actor=clerk)
    record = bill_record(bill)
    wait_complete([record.pk], timeout=30)
    approve_seconds = time.monotonic() - started
    invoices = bills_in_ledger(emulator)
    assert len(invoices) == 1
    record.refresh_from_db()
    assert invoices[0]["InvoiceID"] == record.external_id
    attempt = record.attempts.get()
    assert (attempt.operation, attempt.outcome, attempt.trigger) == (
        Operation.CREATE,
        AttemptOutcome.SUCCESS,
        Trigger.AUTO,
    )

    started = time.monotonic()
    document_services.document_update(
        document=bill, actor=clerk, data={"due_date": datetime.date(2026, 12, 20)}
    )
    wait_until(
        lambda: (
            emulator.invoice(record.external_id)["DueDateString"].startswith("2026-12-20")
            and all_complete([record.pk])
        ),
        timeout=30,
        what="the new due date in the ledger",
    )
    update_seconds = time.monotonic() - started
    assert len(bills_in_ledger(emulator)) == 1
    last = record.attempts.first()
    assert (last.operation, last.outcome, last.reason) == (
        Operation.UPDATE,
        AttemptOutcome.SUCCESS,
        "due date changed",
    )

    started = time.monotonic()
    payment = document_services.payment_record(
        document=bill, actor=clerk, amount="40.00", paid_at="2026-11-05"
    )
    payment_record = SyncRecord.objects.get(payment=payment)
    wait_until(
        lambda: (
            all_complete([payment_record.pk])
            and emulator.invoice(record.external_id)["AmountPaid"] == 40.0
        ),
        timeout=30,
        what="the payment in the ledger",
    )
    payment_seconds = time.monotonic() - started
    state = emulator.invoice(record.external_id)
    assert (state["AmountPaid"], state["AmountDue"]) == (40.0, 60.0)
    assert len(bills_in_ledger(emulator)) == 1
    print(
        f"\n[worker] approve→Complete {approve_seconds:.2f}s, due date→ledger "
        f"{update_seconds:.2f}s, payment→ledger {payment_seconds:.2f}s"
    )


# --- 2. a worker killed in the middle of pushes ------------------------------------------------

KILL_LATENCY_MS = 1500  # a push (search + create) takes ~3 s: well inside the 5 s lease
# Calls admitted by the emulator (in flight or done) since the worker started, before each kill.
# Two processes each push a batch of 5 (SYNC_BATCH_SIZE) or, once swept, one record:
# 4 = both creates in flight (the crashed worker's entries land in the ledger after it died),
# 1 = a search in flight, 3 = a mix. A first push is one create (no search), so 80 bills are 16
# batches, 16 calls without a kill: twice the 8 the kills wait for, so the third kill still finds
# work in flight however the batches fall (with 40, a loaded machine sometimes finished them
# before it). The sweep keeps swept bulk records in batches, so the work does not multiply into
# one search and one create per bill after a kill.
KILL_AFTER_CALLS = (4, 1, 3)
KILL_BILLS = 80


def test_a_worker_killed_mid_push_loses_nothing_and_doubles_nothing(
    workers, xero_server, xero_connection, org, clerk, vendor, category
):
    _, emulator = xero_server
    documents = make_bills(org, vendor, category, KILL_BILLS, status=DocumentStatus.APPROVED)
    # The sweep (embedded beat) is what finds the records whose tasks died with the worker.
    worker = workers.start(beat=True)
    emulator.set_faults(latency_ms=KILL_LATENCY_MS)
    services.bulk_resync(org=org, document_ids=[d.pk for d in documents], actor=clerk)
    record_ids = list(
        SyncRecord.objects.filter(document__in=documents).values_list("pk", flat=True)
    )
    assert len(record_ids) == KILL_BILLS

    kills = []
    for round_number, calls in enumerate(KILL_AFTER_CALLS, start=1):
        before = emulator.call_count()
        wait_until(
            lambda: emulator.call_count() >= before + calls,  # noqa: B023 (used at once)
            timeout=30,
            what=f"{calls} ledger calls before kill {round_number}",
        )
        claimed = SyncRecord.objects.filter(pk__in=record_ids).exclude(claimed_by="").count()
        worker.kill()
        assert not pids_matching(worker.name)
        kills.append(
            f"kill {round_number}: {emulator.call_count() - before} calls admitted, "
            f"{claimed} records claimed, {dict(statuses(record_ids))}"
        )
        if round_number == len(KILL_AFTER_CALLS):
            # Calls already sleeping in the emulator still finish; new ones are fast.
            emulator.clear_faults()
        worker = workers.start(beat=True)

    recovery_seconds = wait_complete(record_ids, timeout=90)
    records = list(SyncRecord.objects.filter(pk__in=record_ids))
    assert_one_entry_per_document(emulator, documents, records)
    attempts = SyncAttempt.objects.filter(record_id__in=record_ids)
    operations = Counter(
        attempts.filter(outcome=AttemptOutcome.SUCCESS).values_list("operation", flat=True)
    )
    # Entries made by a push whose worker died before it could record them are found by the
    # search (a link) or by the create's idempotency key (a replayed create), never made again.
    print(
        "\n[worker] " + "\n[worker] ".join(kills) + f"\n[worker] all {KILL_BILLS} Complete "
        f"{recovery_seconds:.2f}s after the last restart; successful attempts by operation: "
        f"{dict(operations)}; ledger calls {emulator.call_count()}; records re-enqueued by "
        f"sweeps {records_swept(workers.workers)}"
    )


# --- 3. the broker restarts and loses every message ----------------------------------------------

needs_redis_server = pytest.mark.skipif(
    shutil.which("redis-server") is None,
    reason="needs the redis-server binary to run a broker the test can restart",
)


@needs_redis_server
def test_a_document_change_does_not_fail_while_the_broker_is_down(
    tmp_path, xero_connection, org, clerk, vendor, category
):
    bill = make_bills(org, vendor, category, 1)[0]
    with own_redis(tmp_path) as broker:
        broker.crash()
        with broker_for_this_process(broker.url):
            # The approval is committed; only the message is lost, which the sweep makes up for.
            document_services.document_approve(document=bill, actor=clerk)
    assert bill_record(bill).status == RecordStatus.PENDING


@needs_redis_server
def test_records_made_while_the_broker_is_down_are_pushed_after_it_restarts(
    tmp_path, xero_server, xero_connection, org, clerk, vendor, category
):
    _, emulator = xero_server
    first, *documents = make_bills(org, vendor, category, 5)
    with (
        own_redis(tmp_path) as broker,
        broker_for_this_process(broker.url),
        worker_pool(tmp_path, broker_url=broker.url) as pool,
    ):
        worker = pool.start(beat=True)
        document_services.document_approve(document=first, actor=clerk)
        wait_complete([bill_record(first).pk], timeout=30)

        # A crash of the broker: queued and unacknowledged messages are gone for good.
        broker.crash()
        send_failures = 0
        for document in documents:
            try:
                document_services.document_approve(document=document, actor=clerk)
            except OperationalError:
                # The engine bug of the test above: the approval committed all the same.
                send_failures += 1
        record_ids = [bill_record(document).pk for document in documents]
        assert statuses(record_ids) == {"Pending": len(documents)}

        restarted = time.monotonic()
        broker.start()

        def complete_by_the_same_worker() -> bool:
            # The worker rides out the outage: Celery 5.7.0 / kombu 5.7.0 made it exit
            # ("Unrecoverable error: AttributeError ... 'hostname'") when it held an
            # unacknowledged message; syncsvc/celery.py's patch, tests/syncsvc/test_broker_loss.py.
            assert worker.alive, f"the worker exited with the broker:\n{worker.log_tail()}"
            return all_complete(record_ids)

        wait_until(
            complete_by_the_same_worker,
            timeout=60,
            what=lambda: f"records Complete; now {dict(statuses(record_ids))}",
        )
        recovery_seconds = time.monotonic() - restarted

    everything = [first, *documents]
    records = [bill_record(document) for document in everything]
    assert_one_entry_per_document(emulator, everything, records)
    # Their messages were never sent: only the sweep can have brought them to the worker.
    swept = records_swept(pool.workers)
    assert swept >= len(documents)
    print(
        f"\n[worker] broker down: {len(documents)} approvals, {send_failures} raised on send; "
        f"all Complete {recovery_seconds:.2f}s after the broker came back; {swept} records "
        f"re-enqueued by the sweep"
    )


# --- 4. interactive work is not starved by a bulk run -------------------------------------------

FAIRNESS_LATENCY_MS = 500  # a push (search + create) ~1 s
# Batches of 2: the 30 bills take 15 pushes, ~8 s on 2 processes, long enough to be in the way.
FAIRNESS_BATCH_SIZE = 2


def test_an_interactive_resync_is_not_starved_by_a_bulk_run(
    workers, xero_server, xero_connection, org, clerk, vendor, category, settings
):
    _, emulator = xero_server
    # Batches are cut when the test process sends the bulk run's tasks.
    settings.SYNC_BATCH_SIZE = FAIRNESS_BATCH_SIZE
    bulk_documents = make_bills(org, vendor, category, 30, status=DocumentStatus.APPROVED)
    urgent = make_bills(org, vendor, category, 1, status=DocumentStatus.APPROVED)[0]
    # As production runs it: a worker dedicated to the interactive queue, others for the rest.
    workers.start_many(
        [
            {"queues": ("interactive",), "concurrency": 1},
            {"queues": ("sync", "bulk"), "concurrency": 2},
        ]
    )
    emulator.set_faults(latency_ms=FAIRNESS_LATENCY_MS)

    bulk_started = time.monotonic()
    services.bulk_resync(org=org, document_ids=[d.pk for d in bulk_documents], actor=clerk)
    bulk_ids = list(
        SyncRecord.objects.filter(document__in=bulk_documents).values_list("pk", flat=True)
    )
    wait_until(
        lambda: statuses(bulk_ids)["Complete"] >= 2, timeout=30, what="the bulk run to start"
    )

    services.resync(document=urgent, connection=xero_connection, entry="bill", actor=clerk)
    urgent_record = bill_record(urgent)
    interactive_seconds = wait_complete([urgent_record.pk], timeout=30)
    bulk_left = len(bulk_ids) - statuses(bulk_ids)["Complete"]
    wait_complete(bulk_ids, timeout=90)
    bulk_seconds = time.monotonic() - bulk_started

    attempt = urgent_record.attempts.get()
    assert (attempt.trigger, attempt.outcome) == (Trigger.MANUAL, AttemptOutcome.SUCCESS)
    assert interactive_seconds < 5, f"the interactive re-sync took {interactive_seconds:.1f}s"
    assert bulk_left >= 10, f"the bulk run was nearly over ({bulk_left} left): nothing proven"
    assert_one_entry_per_document(
        emulator,
        [*bulk_documents, urgent],
        list(SyncRecord.objects.filter(pk__in=[*bulk_ids, urgent_record.pk])),
    )
    print(
        f"\n[worker] interactive re-sync Complete in {interactive_seconds:.2f}s with "
        f"{bulk_left}/30 bulk records still pending; bulk run took {bulk_seconds:.2f}s"
    )


# --- 6. a request's id in the worker's log ----------------------------------------------------


def test_the_worker_logs_a_push_under_the_id_of_the_request_that_caused_it(
    workers, xero_connection, org, clerk, vendor, category, client
):
    # A partner (or support) quotes the X-Request-ID of an answer; the worker's lines about the
    # push it started must carry that id, or our logs cannot be searched for it.
    workers.start()
    bill = make_bills(org, vendor, category, 1)[0]
    client.force_login(clerk)
    response = client.post(
        reverse("documents:approve", args=[bill.pk]), HTTP_X_REQUEST_ID="trace-approve-4711"
    )
    assert response.status_code in (200, 302)
    assert response["X-Request-ID"] == "trace-approve-4711"
    wait_complete([bill_record(bill).pk], timeout=30)

    def task_lines() -> list[str]:
        return [
            line
            for worker in workers.workers
            for line in worker.log_path.read_text(errors="replace").splitlines()
            if "[trace-approve-4711]" in line and "synclog.tasks.sync_record" in line
        ]

    # The success line is written just after the record is saved Complete.
    assert wait_until(task_lines, timeout=10, what="the task's log line with the id")
