"""Status changes of records by hand (DESIGN §4.7), the resume after a reconnect, and the sweep
that releases expired leases and resends what may have been lost (DESIGN §4.9)."""

import datetime
from collections.abc import Iterable, Mapping

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Organization
from integrations.models import Connection, ConnectionStatus
from synclog.models import (
    RecordStatus,
    RunItemOutcome,
    SyncRecord,
    SyncRun,
    SyncStatusChange,
    Trigger,
)
from synclog.rules import BATCHED_TRIGGERS
from synclog.services import marking
from synclog.services.run_items import _finish_run_items
from synclog.services.runs import sync_runs_prepare_enqueue


@transaction.atomic
def sync_status_update(
    *,
    org: Organization,
    record_ids: Iterable[int],
    to_status: int,
    actor,
    actor_label: str = "",
    note: str = "",
    notes: Mapping[int, str] | None = None,
) -> int:
    """DESIGN §4.7: Failed → Complete after a manual reconcile, or any → Pending for a fresh try.

    Changes only our record, audited with who, when, from and to; `notes` gives a record its
    own note instead of `note` (accepting the ledger's version says what each one holds).
    `actor_label` names an API key that asked (no user): the audit and a fresh try's attempts
    show it.
    """
    notes = notes or {}
    if to_status not in (RecordStatus.COMPLETE, RecordStatus.PENDING):
        raise ValidationError({"status": "Choose Complete or Pending."})
    records = list(
        SyncRecord.objects.for_org(org).select_for_update().filter(pk__in=list(record_ids))
    )
    if to_status == RecordStatus.COMPLETE:
        refused = [r for r in records if r.status != RecordStatus.FAILED]
        if refused:
            raise ValidationError(
                {"status": "Only failed records can be marked Complete (after a manual reconcile)."}
            )
    user = actor if getattr(actor, "is_authenticated", False) else None
    SyncStatusChange.objects.bulk_create(
        SyncStatusChange(
            record=record,
            actor=user,
            actor_label="" if user else actor_label[:150],
            from_status=record.status,
            to_status=to_status,
            note=notes.get(record.pk, note)[:300],
        )
        for record in records
    )
    ids = [record.pk for record in records]
    # Payments waiting for these bills go with them: pushed after them, or told that their
    # bill was reconciled by hand.
    waiting = list(
        SyncRecord.objects.for_org(org)
        .filter(marking.waiting_for_failed_bill())
        .filter(
            document_id__in=[r.document_id for r in records if not r.is_payment],
            connection_id__in={r.connection_id for r in records},
        )
        .exclude(pk__in=ids)
        .values_list("pk", flat=True)
    )
    if to_status == RecordStatus.PENDING:
        SyncRecord.objects.filter(pk__in=ids).update(
            status=RecordStatus.PENDING,
            version=F("version") + 1,
            pending_reason="status set to Pending",
            pending_trigger=Trigger.MANUAL,
            pending_actor=user,
            pending_actor_label="" if user else actor_label[:150],
            attempt_count=0,
            next_retry_at=None,
            updated_at=timezone.now(),
        )
        marking.sync_records_enqueue(ids, trigger=Trigger.MANUAL)
        marking.sync_records_enqueue(waiting, trigger=Trigger.MANUAL, countdown=1)
    else:
        # The failure stays in the attempts and the audit; the record itself is now reconciled.
        SyncRecord.objects.filter(pk__in=ids).update(
            status=RecordStatus.COMPLETE,
            last_error_code=None,
            last_error_message="",
            last_error_explanation="",
            last_error_hint="",
            updated_at=timezone.now(),
        )
        # The runs these failed in count them as fixed since (their Retry no longer offers them).
        _finish_run_items({pk: (RunItemOutcome.RESOLVED, None) for pk in ids})
        marking.sync_records_enqueue(waiting, trigger=Trigger.MANUAL)
    return len(ids)


def connection_resume(*, connection: Connection) -> int:
    """After a reconnect or enable: push what waited meanwhile (bulk work at its pace)."""
    rows = list(
        SyncRecord.objects.filter(connection=connection, status=RecordStatus.PENDING)
        .exclude(marking.waiting_for_failed_bill())
        .values_list("pk", "pending_trigger")
    )
    ids = [pk for pk, _ in rows]
    with transaction.atomic():
        SyncRecord.objects.filter(pk__in=ids).update(next_retry_at=None)
        marking.sync_records_enqueue_paced(
            [pk for pk, trigger in rows if trigger in BATCHED_TRIGGERS], trigger=Trigger.BULK
        )
        marking.sync_records_enqueue(
            [pk for pk, trigger in rows if trigger not in BATCHED_TRIGGERS], trigger=Trigger.SWEEP
        )
    return len(ids)


def sync_sweep(*, now: datetime.datetime | None = None) -> int:
    """Beat: release expired leases, re-enqueue Pending records whose task may have been lost
    (a broker restart, a worker killed before it acknowledged), and top every connection's bulk
    work up to its share of the broker (marking.connection_bulk_top_up). Returns how many
    records it sent."""
    now = now or timezone.now()
    expired = SyncRecord.objects.filter(claimed_until__lt=now)
    # A lease that ran out means its push died (a killed worker, a database outage): its task
    # is gone, so these records go again now, however recently they were sent.
    expired.filter(status=RecordStatus.PENDING).update(enqueued_at=None)
    expired.update(claimed_by="", claimed_until=None)
    stale = now - datetime.timedelta(seconds=settings.SYNC_SWEEP_AFTER_SECONDS)
    # A bulk backlog waits in its queue for quota a long time: do not resend it every sweep.
    stale_bulk = now - datetime.timedelta(seconds=settings.SYNC_SWEEP_BULK_AFTER_SECONDS)
    due = (
        SyncRecord.objects.filter(
            status=RecordStatus.PENDING,
            connection__status=ConnectionStatus.ACTIVE,
            claimed_until__isnull=True,
        )
        .filter(Q(next_retry_at__isnull=True) | Q(next_retry_at__lte=now))
        .exclude(marking.waiting_for_failed_bill())
        .order_by()
    )
    bulk = due.filter(pending_trigger__in=list(BATCHED_TRIGGERS))
    # A bulk record sent that long ago lost its task: it waits again (it no longer takes one of
    # its connection's slots) and goes first in its connection's line.
    bulk.filter(enqueued_at__lt=stale_bulk).update(enqueued_at=None)
    alone = list(
        due.exclude(pending_trigger__in=list(BATCHED_TRIGGERS))
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=stale))
        .values_list("pk", flat=True)[: settings.SYNC_SWEEP_BATCH]
    )
    waiting = list(
        bulk.filter(enqueued_at__isnull=True).values_list("connection_id", flat=True).distinct()
    )
    lost_preparations = list(
        SyncRun.objects.filter(selection__isnull=False, started_at__lt=stale).values_list(
            "pk", flat=True
        )
    )
    with transaction.atomic():
        marking.sync_records_enqueue(alone, trigger=Trigger.SWEEP)
        sync_runs_prepare_enqueue(lost_preparations)
    # Bulk work stays in batches (one create per batch of new bills, not per bill) on the bulk
    # queue, at its connection's pace; the attempts keep the trigger the records were marked
    # with.
    sent = sum(
        marking.connection_bulk_top_up(connection_id=connection_id)
        for connection_id in sorted(waiting)
    )
    return len(alone) + sent
