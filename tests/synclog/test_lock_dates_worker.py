"""The ledger's lock date with a real Celery worker and its beat, against the Xero emulator over
HTTP (issue 17, item 2): beat's refresh reads the lock date, the worker holds a bill dated in
the locked period without sending it, and once the accountant moves the lock date in Xero the
next refresh releases the bill and the worker pushes it. Nothing is played by the test."""

import datetime
import logging

from bench.harness.processes import wait_until
from documents import services as document_services
from integrations.emulators.xero import running_emulator
from integrations.models import Connection
from synclog.models import RecordStatus, SyncRecord
from tests.factories import DocumentFactory
from tests.ledger_fixtures import XeroBooks
from tests.synclog.worker_harness import FAST_SYNC, WORKER_MARKS, worker_pool

pytestmark = WORKER_MARKS

REFRESH_SECONDS = 1.0


def test_beat_reads_the_lock_date_and_a_held_bill_goes_once_it_moves(
    tmp_path, caplog, settings, org, clerk, vendor, category
):
    caplog.set_level(logging.WARNING, logger="httpx")
    for name, value in FAST_SYNC.items():
        setattr(settings, name, value)
    settings.LEDGER_EMULATOR_ALLOWED = True
    with running_emulator(port=0) as (url, emulator):
        settings.XERO_EMULATOR_URL = url
        emulator.set_rate_limits(calls_per_window=100_000, max_concurrent=100, calls_per_day=10**7)
        connection = XeroBooks(emulator).connect_org(org, base_url=url)
        emulator.set_lock_date(lock_date="2026-11-30")
        bill = DocumentFactory(
            org=org, contact=vendor, category=category, issue_date=datetime.date(2026, 11, 12)
        )
        extra = {"LEDGER_LOCK_DATE_REFRESH_SECONDS": REFRESH_SECONDS}
        with worker_pool(tmp_path, broker_url=settings.CELERY_BROKER_URL, extra_env=extra) as pool:
            pool.start(beat=True)

            def lock_date():
                return Connection.objects.get(pk=connection.pk).lock_date

            wait_until(
                lambda: lock_date() == datetime.date(2026, 11, 30),
                timeout=30,
                what="beat's read of Xero's lock date",
            )
            document_services.document_approve(document=bill, actor=clerk)
            record = SyncRecord.objects.get(document=bill)
            wait_until(
                lambda: SyncRecord.objects.get(pk=record.pk).status == RecordStatus.FAILED,
                timeout=30,
                what="the bill held by the worker",
            )
            record.refresh_from_db()
            assert record.held_for_lock, record.last_error_message
            assert record.attempts.get().calls == []
            assert [i for i in emulator.invoices() if i["Type"] == "ACCPAY"] == []

            # The accountant reopens November in Xero: beat's next read releases the bill.
            emulator.set_lock_date(lock_date="2026-10-31")
            wait_until(
                lambda: SyncRecord.objects.get(pk=record.pk).status == RecordStatus.COMPLETE,
                timeout=30,
                what="the bill released and pushed",
            )
        record.refresh_from_db()
        [invoice] = [i for i in emulator.invoices() if i["Type"] == "ACCPAY"]
        assert invoice["InvoiceID"] == record.external_id
        assert lock_date() == datetime.date(2026, 10, 31)
