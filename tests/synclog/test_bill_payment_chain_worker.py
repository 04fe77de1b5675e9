"""The bill → payment chain through real Celery worker processes (two, prefork, with beat's
sweep), against the Xero emulator over HTTP: a payment sent to one process while its bill is in
another never fails for it; while the bill fails the payments wait with it (the sweep leaves them
be); the retry of the chain is one run, and the emulator's request log shows the bill first."""

from django.db import transaction
from django.db.models import F

from bench.harness.processes import wait_until
from documents import services as document_services
from synclog import services
from synclog.models import (
    AttemptOutcome,
    RecordStatus,
    StatusCode,
    SyncAttempt,
    SyncRecord,
    SyncRun,
)
from tests.factories import CategoryFactory, DocumentFactory
from tests.ledger_fixtures import XeroBooks
from tests.synclog.test_worker import (  # noqa: F401 (fixtures)
    SWEEP_DONE,
    fast_sync,
    pytestmark,
    workers,
    xero_connection,
    xero_server,
)


def paid_bill(org, clerk, vendor, category, number):
    """Approved and paid twice in one transaction: the bill's task and its payments' tasks go
    to the broker together, and the worker's processes take them in any order."""
    document = DocumentFactory(org=org, contact=vendor, category=category, number=number)
    with transaction.atomic():
        document_services.document_approve(document=document, actor=clerk)
        for amount in ("30.00", "20.00"):
            document_services.payment_record(
                document=document, actor=clerk, amount=amount, paid_at="2026-11-05"
            )
    return document


def chain_records(document):
    """The bill's record first, then its payments'."""
    return list(
        SyncRecord.objects.filter(document=document).order_by(
            F("payment_id").asc(nulls_first=True), "pk"
        )
    )


def sweeps_done(worker) -> int:
    return len(SWEEP_DONE.findall(worker.log_path.read_text(errors="replace")))


def test_payments_never_fail_for_their_bill_and_a_chain_retry_goes_in_order(
    workers,  # noqa: F811
    xero_server,  # noqa: F811
    xero_connection,  # noqa: F811
    org,
    clerk,
    vendor,
    category,
):
    _, emulator = xero_server
    worker = workers.start(concurrency=2, beat=True)

    # A bill whose entry goes through: its payments wait for it, wherever they are pushed.
    fine = paid_bill(org, clerk, vendor, category, "FINE-1")
    wait_until(
        lambda: all(r.status == RecordStatus.COMPLETE for r in chain_records(fine)),
        timeout=60,
        what="the bill and its payments in the ledger",
    )
    failures = SyncAttempt.objects.filter(record__document=fine).exclude(
        outcome=AttemptOutcome.SUCCESS
    )
    assert not failures.exists(), list(failures.values_list("error_message", flat=True))
    assert emulator.invoice(chain_records(fine)[0].external_id)["AmountPaid"] == 50.0

    # A bill whose entry fails (Travel is not mapped): its payments wait with it.
    travel = CategoryFactory(org=org, name="Travel", code="493")
    trip = paid_bill(org, clerk, vendor, travel, "TRIP-1")
    bill, *payments = chain_records(trip)

    def settled():
        records = chain_records(trip)
        return records[0].status == RecordStatus.FAILED and all(
            record.waits_for_bill for record in records[1:]
        )

    wait_until(settled, timeout=60, what="the bill Failed and its payments waiting for it")
    assert not SyncRecord.objects.filter(document=trip, payment__isnull=False).exclude(
        status=RecordStatus.PENDING
    )
    assert not SyncAttempt.objects.filter(
        record__in=payments, outcome=AttemptOutcome.FAILED
    ).exists()
    # Beat's sweep runs every second here: two more sweeps do not send them again.
    attempts = SyncAttempt.objects.filter(record__in=payments).count()
    sweeps = sweeps_done(worker)
    wait_until(lambda: sweeps_done(worker) >= sweeps + 2, timeout=30, what="two more sweeps")
    assert SyncAttempt.objects.filter(record__in=payments).count() == attempts
    assert all(record.waits_for_bill for record in chain_records(trip)[1:])

    # Fixed, then retried as one chain: one run, the bill first, then its payments.
    XeroBooks(emulator).map_categories(xero_connection)
    since = len(emulator.state()["requests"])
    run = services.retry_failed_records(
        org=org, connection=xero_connection, document_ids=[trip.pk], actor=clerk
    )
    assert run.total == 3
    wait_until(
        lambda: SyncRecord.objects.filter(document=trip, status=RecordStatus.COMPLETE).count() == 3,
        timeout=60,
        what="the chain in the ledger",
    )
    wait_until(
        lambda: SyncRun.objects.get(pk=run.pk).finished_at is not None,
        timeout=30,
        what="the retry's end",
    )
    run.refresh_from_db()
    assert (run.status_code, run.pushed, run.failed) == (StatusCode.SUCCESS, 3, 0)
    assert XeroBooks(emulator).writes_since(since) == ["bill", "payment"]
    assert emulator.invoice(chain_records(trip)[0].external_id)["AmountPaid"] == 50.0
