"""Celery tasks: thin. Each takes ids, calls one service, and reschedules when asked to."""

from celery import shared_task

from synclog import services
from synclog.models import SyncRecord


@shared_task(acks_late=True, ignore_result=True)
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
    return services.sync_sweep()
