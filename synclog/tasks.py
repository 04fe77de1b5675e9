"""Celery tasks: thin. Each takes ids, calls one service, and reschedules when asked to."""

from celery import shared_task

from synclog import services
from synclog.models import SyncRecord, Trigger
from synclog.rules import QUEUE_FOR_TRIGGER
from synclog.services import marking
from syncsvc.outages import DB_ERRORS

# A task that fails because the database is away (a restart, a failover) is tried again later
# instead of being dropped: its records would otherwise wait for the sweep.
RETRY_ON_DATABASE_ERRORS = {
    "autoretry_for": DB_ERRORS,
    "retry_backoff": 2,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 10,
}


@shared_task(acks_late=True, ignore_result=True, **RETRY_ON_DATABASE_ERRORS)
def sync_record(record_id: int) -> None:
    wait = services.sync_record_push(record_id=record_id, worker=sync_record.request.hostname or "")
    if wait is not None:
        trigger = (
            SyncRecord.objects.filter(pk=record_id)
            .values_list("pending_trigger", flat=True)
            .first()
        )
        services.sync_records_enqueue([record_id], trigger=trigger or "auto", countdown=wait)


@shared_task(ignore_result=True)
def sync_sweep() -> int:
    swept = services.sync_sweep()
    # After the sweep, which must not wait on it: Requires attention's counts folded even when
    # nobody opens the page (and a deleted organisation's changes dropped).
    services.attention_fold_all()
    return swept


@shared_task(acks_late=True, ignore_result=True, **RETRY_ON_DATABASE_ERRORS)
def sync_batch(record_ids: list[int]) -> None:
    waits = services.sync_batch_push(
        record_ids=record_ids, worker=sync_batch.request.hostname or ""
    )
    # Records that must wait go back as batches of the same delay.
    by_delay: dict[float, list[int]] = {}
    for record_id, wait in waits.items():
        by_delay.setdefault(round(wait, 1), []).append(record_id)
    for wait, ids in by_delay.items():
        services.sync_records_enqueue(ids, trigger="bulk", countdown=wait)
    marking.sync_batch_ended(record_ids=record_ids)


@shared_task(acks_late=True, ignore_result=True, **RETRY_ON_DATABASE_ERRORS)
def sync_run_prepare(run_id: int) -> None:
    services.sync_run_prepare(run_id=run_id)


@shared_task(ignore_result=True)
def ledger_reconcile_all() -> int:
    """Beat: one reconcile task per active connection, on the bulk queue (lowest priority)."""
    connection_ids = services.reconcile_schedule_all()
    for connection_id in connection_ids:
        send_ledger_reconcile(connection_id)
    return len(connection_ids)


def send_ledger_reconcile(connection_id: int, countdown: float | None = None) -> None:
    """A connection's reconcile, on the bulk queue (after the pushes people wait for): beat's
    turn, "Check the ledger now", or a reconcile that must wait for the quota."""
    options = {"queue": QUEUE_FOR_TRIGGER[Trigger.BULK]}
    if countdown is not None:
        options["countdown"] = countdown
    ledger_reconcile.apply_async(args=[connection_id], **options)


@shared_task(acks_late=True, ignore_result=True, **RETRY_ON_DATABASE_ERRORS)
def ledger_reconcile(connection_id: int) -> None:
    result = services.connection_reconcile(connection_id=connection_id)
    if result.wait is not None:  # no quota now, or a push goes first: again later
        send_ledger_reconcile(connection_id, countdown=result.wait)
