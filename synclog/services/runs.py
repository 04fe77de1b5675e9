"""Runs: a manual re-sync, a bulk re-sync, a force sync and a retry of failed items
(DESIGN §4.3–§4.5). Each marks its entries Pending under a SyncRun and sends them."""

import logging
from collections import Counter
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import Organization
from documents.models import Document
from integrations.models import Connection, ConnectionStatus
from synclog.models import (
    WAITS_FOR_BILL,
    RecordStatus,
    RunItemOutcome,
    StatusCode,
    SyncRecord,
    SyncRun,
    SyncRunItem,
    Trigger,
)
from synclog.rules import COLLECTING_STATUSES, SYNCABLE_DOCUMENTS, is_paid, sync_refusal
from synclog.services import marking
from synclog.services.marking import EntrySpec, _entry_specs, _mark_pending
from synclog.services.run_items import _add_to_run_and_end_if_last
from syncsvc.database import EqualsAny, IdArray
from webhooks.services import webhook_emit_run_finished

logger = logging.getLogger(__name__)


def _active_connections(org: Organization, connection: Connection | None) -> list[Connection]:
    connections = Connection.objects.for_org(org).filter(status__in=COLLECTING_STATUSES)
    if connection is not None:
        connections = connections.filter(pk=connection.pk)
    return list(connections)


def _start_run(
    *,
    connection: Connection,
    trigger: str,
    actor,
    specs: list[EntrySpec],
    reason: str,
    retry_of: SyncRun | None = None,
    actor_label: str = "",
) -> SyncRun:
    run = _new_run(
        connection=connection,
        trigger=trigger,
        actor=actor,
        actor_label=actor_label,
        retry_of=retry_of,
    )
    _mark_run_pending(run, specs, reason=reason)
    return run


def _new_run(*, connection, trigger, actor, actor_label="", retry_of=None, selection=None):
    return SyncRun.objects.create(
        org_id=connection.org_id,
        connection=connection,
        trigger=trigger,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_label=actor_label or (str(actor) if actor else ""),
        retry_of=retry_of,
        selection=selection,
    )


def _mark_run_pending(
    run: SyncRun, specs: list[EntrySpec], *, reason: str, prepared: int | None = None
) -> None:
    """Add these entries to the run and send them. `prepared`: how many of a large selection's
    documents are marked with these (the run is complete once all of them are)."""
    ids = _mark_pending(
        connection=run.connection,
        specs=specs,
        reason=reason,
        trigger=run.trigger,
        actor=run.actor,
        run=run,
    )
    run.total += len(set(ids))
    if prepared is not None and prepared < len(run.selection or ()):
        run.selection_prepared = prepared
    else:
        run.selection = None
    # The selection (a large run's thousands of ids) is written once, when it is done with.
    fields = ["total", "selection_prepared"] + (["selection"] if run.selection is None else [])
    if run.selection is None and run.total == 0:
        run.status_code = StatusCode.NOTHING_TO_PUSH
        run.finished_at = timezone.now()
        fields += ["status_code", "finished_at"]
    run.save(update_fields=fields)
    if run.finished_at is not None:
        webhook_emit_run_finished(run=run)
    elif run.selection is None and not ids:
        # The last chunk added nothing, and the earlier ones may all have ended already.
        _add_to_run_and_end_if_last(run.pk, Counter(), now=timezone.now())
    # A bulk run's records wait for their connection's turn in the broker.
    marking.sync_records_enqueue_paced(ids, trigger=run.trigger)


@transaction.atomic
def resync(*, document: Document, connection: Connection, entry: str, actor) -> SyncRun:
    """The Re-sync dialog: push the bill entry, or the payment entry, of one document again."""
    refusal = sync_refusal(document, connection)
    if refusal == "kind":
        raise ValidationError(f"{document.get_kind_display()}s are not pushed as ledger entries.")
    if refusal == "status":
        raise ValidationError("Only approved, paid or void documents are synced.")
    if connection.org_id != document.org_id or refusal == "connection":
        raise ValidationError({"connection": "Choose an active connection."})
    if entry == "payment":
        if not is_paid(status=document.status, marked_paid=document.marked_paid):
            raise ValidationError({"entry": "The payment entry exists only for paid documents."})
        payment_ids = [payment.pk for payment in document.payments.all()]
        specs = _entry_specs(document.pk, document.kind, entry=False, payment_ids=payment_ids)
    elif entry == "bill":
        specs = _entry_specs(document.pk, document.kind, entry=True, payment_ids=())
    else:
        raise ValidationError({"entry": "Choose the bill entry or the payment entry."})
    return _start_run(
        connection=connection,
        trigger=Trigger.MANUAL,
        actor=actor,
        specs=specs,
        reason=f"re-sync of the {entry} entry",
    )


@transaction.atomic
def resync_as_new_entry(*, document: Document, connection: Connection, actor) -> SyncRun:
    """The way out of an entry voided (or deleted) in the ledger, once the user confirms: our
    link to it is dropped and the document is pushed as a new entry, its payments after it (the
    ledger removed them when it voided the entry). The voided entry is never touched, and the
    push still looks for a live entry with our reference first, so nothing is doubled."""
    if connection.org_id != document.org_id or connection.status != ConnectionStatus.ACTIVE:
        raise ValidationError({"connection": "Choose an active connection."})
    records = list(
        SyncRecord.objects.select_for_update()
        .filter(connection=connection, document=document)
        .order_by("pk")
    )
    entry = next((r for r in records if not r.is_payment), None)
    if entry is None or not entry.ledger_gone:
        raise ValidationError(
            "Only an entry voided or deleted in the ledger can be pushed as a new entry."
        )
    SyncRecord.objects.filter(pk__in=[r.pk for r in records]).update(
        external_id="",
        external_number="",
        synced_amount=None,
        synced_at=None,
        payload_hash="",
        booked=False,
        # Linked before: the push looks for a live entry of ours before it creates one.
        unknown_outcome=True,
        uploaded_attachment_ids=[],
    )
    payment_ids = [r.payment_id for r in records if r.is_payment]
    return _start_run(
        connection=connection,
        trigger=Trigger.MANUAL,
        actor=actor,
        specs=_entry_specs(document.pk, document.kind, entry=True, payment_ids=payment_ids),
        reason=f"pushed as a new entry ({entry.last_error_message})",
    )


def _bulk_specs(documents, connection: Connection) -> list[EntrySpec]:
    """DESIGN §4.4: every existing entry is updated; where none exists, the bill for unpaid
    documents and bill + payments for paid ones. Read as plain rows: a selection may hold
    tens of thousands of documents."""
    rows = list(documents.order_by("pk").values_list("pk", "kind", "status", "marked_paid"))
    # The documents' ids as one array: as the selection's subquery, each statement carried a
    # parameter per id of the chunk (500), which cost psycopg more CPU than the statement.
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT payment_id FROM synclog_syncrecord WHERE connection_id = %s"
            " AND payment_id IS NOT NULL AND document_id = ANY(%s)",
            [connection.pk, IdArray(row[0] for row in rows)],
        )
        with_records = {payment_id for (payment_id,) in cursor.fetchall()}
        cursor.execute(
            "SELECT document_id, id FROM documents_payment WHERE document_id = ANY(%s) ORDER BY id",
            [IdArray(row[0] for row in rows)],
        )
        payment_rows = cursor.fetchall()
    payments: dict[int, list[int]] = {}
    for document_id, payment_id in payment_rows:
        payments.setdefault(document_id, []).append(payment_id)
    specs = []
    for pk, kind, status, marked_paid in rows:
        paid = is_paid(status=status, marked_paid=marked_paid)
        pushed = [p for p in payments.get(pk, ()) if paid or p in with_records]
        specs += _entry_specs(pk, kind, entry=True, payment_ids=pushed)
    return specs


def _syncable_documents(org: Organization):
    return Document.objects.for_org(org).filter(SYNCABLE_DOCUMENTS)


def _bulk_reason(trigger: str) -> str:
    return "bulk re-sync" if trigger == Trigger.BULK else "sync requested"


@transaction.atomic
def bulk_resync(
    *,
    org: Organization,
    document_ids: Iterable[int],
    actor,
    trigger: str = Trigger.BULK,
    connection: Connection | None = None,
    actor_label: str = "",
) -> list[SyncRun]:
    """A run per connection collecting entries (or of `connection` alone) pushing the documents
    among `document_ids` that sync (another organisation's ids are not found); past
    SYNC_PREPARE_IN_WORKER_OVER documents the runs come back at once and a worker marks them."""
    ids = sorted(set(document_ids))
    connections = _active_connections(org, connection)
    if len(ids) > settings.SYNC_PREPARE_IN_WORKER_OVER:
        # Marking tens of thousands of records takes seconds: the user gets the runs now, and a
        # worker marks them (sync_run_prepare); the sweep resends a preparation that was lost.
        runs = [
            _new_run(
                connection=conn,
                trigger=trigger,
                actor=actor,
                actor_label=actor_label,
                selection=ids,
            )
            for conn in connections
        ]
        sync_runs_prepare_enqueue([run.pk for run in runs])
        return runs
    documents = _syncable_documents(org).filter(pk__in=ids)
    return [
        _start_run(
            connection=conn,
            trigger=trigger,
            actor=actor,
            actor_label=actor_label,
            specs=_bulk_specs(documents, conn),
            reason=_bulk_reason(trigger),
        )
        for conn in connections
    ]


def sync_runs_prepare_enqueue(run_ids: list[int]) -> None:
    """Send each run's preparation to a worker once the transaction commits; a broker that is
    down leaves them to the sweep (nothing is lost)."""
    if not run_ids:
        return

    def send():
        from synclog.tasks import sync_run_prepare

        for run_id in run_ids:
            try:
                sync_run_prepare.apply_async(args=[run_id], queue="interactive")
            except Exception:
                logger.warning("Broker unavailable: run %s left to the sweep", run_id)
                return

    transaction.on_commit(send)


def sync_run_prepare(*, run_id: int) -> SyncRun | None:
    """A worker marks a large bulk re-sync's documents Pending, a chunk per transaction, and each
    chunk's batches go out as it commits: the first entries reach the ledger while the rest are
    still being marked (10,000 documents take seconds). A preparation cut short (a lost worker)
    is resent by the sweep and goes on from the chunk it had reached."""
    prepared = None
    while True:
        with transaction.atomic():
            run = (
                SyncRun.objects.select_for_update(of=("self",))
                .select_related("connection", "org", "actor")
                .filter(pk=run_id, selection__isnull=False)
                .first()
            )
            if run is None:
                return prepared  # done (or prepared already: a resent task)
            start = run.selection_prepared
            chunk = run.selection[start : start + settings.SYNC_PREPARE_CHUNK]
            specs = []
            if run.connection.status in COLLECTING_STATUSES:
                # Scoped here: the ids came from a request of this organisation, but only its
                # own syncable documents count.
                documents = _syncable_documents(run.org).filter(EqualsAny(F("pk"), chunk))
                specs = _bulk_specs(documents, run.connection)
            _mark_run_pending(
                run, specs, reason=_bulk_reason(run.trigger), prepared=start + len(chunk)
            )
            prepared = run


@transaction.atomic
def force_sync(*, org: Organization, connection: Connection, actor) -> SyncRun:
    """DESIGN §4.5: everything syncable that is not Complete, including never-recorded documents."""
    if connection.org_id != org.id or connection.status != ConnectionStatus.ACTIVE:
        # Its records would only wait, and the run would look stuck.
        raise ValidationError("Only an active connection can be force-synced; reconnect it first.")
    complete = set(
        SyncRecord.objects.filter(connection=connection, status=RecordStatus.COMPLETE).values_list(
            "document_id", "entry_type", "payment_id"
        )
    )
    specs = []
    for document in _syncable_documents(org).prefetch_related("payments"):
        payment_ids = [payment.pk for payment in document.payments.all()]
        for spec in _entry_specs(document.pk, document.kind, entry=True, payment_ids=payment_ids):
            if (spec.document_id, spec.entry_type, spec.payment_id) not in complete:
                specs.append(spec)
    return _start_run(
        connection=connection, trigger=Trigger.FORCE, actor=actor, specs=specs, reason="force sync"
    )


@transaction.atomic
def retry_failed(*, run: SyncRun, actor) -> SyncRun:
    """A run of the items of `run` that are still Failed (never one reconciled by hand since,
    which a push could double); ValidationError when none is left."""
    # Only what is still Failed: a record reconciled by hand since (marked Complete) may have
    # its entry typed into the ledger without our reference, and a push would double it.
    failed = SyncRunItem.objects.filter(
        run=run, outcome=RunItemOutcome.FAILED, record__status=RecordStatus.FAILED
    ).values_list("record__document_id", "record__entry_type", "record__payment_id")
    specs = [EntrySpec(*row) for row in failed]
    # A payment counted failed here that waits for its bill: the bill goes (failed in another
    # sync, perhaps), and the payment with it (_mark_pending).
    waiting = SyncRunItem.objects.filter(
        run=run, outcome=RunItemOutcome.FAILED, record__status=RecordStatus.PENDING
    ).filter(record__pending_reason=WAITS_FOR_BILL)
    bills = SyncRecord.objects.filter(
        connection=run.connection,
        document_id__in=waiting.values("record__document_id"),
        payment__isnull=True,
        status=RecordStatus.FAILED,
    ).values_list("document_id", "entry_type", "payment_id")
    specs += [spec for spec in (EntrySpec(*row) for row in bills) if spec not in specs]
    if not specs:
        if SyncRunItem.objects.filter(run=run, outcome=RunItemOutcome.FAILED).exists():
            # Failed here, Pending now: pushed again already, or waiting for a reconnect.
            raise ValidationError(
                "This sync's failed items are being pushed again or wait for the connection "
                "to be reconnected."
            )
        raise ValidationError("This sync has no failed items.")
    return _start_run(
        connection=run.connection,
        trigger=Trigger.RETRY,
        actor=actor,
        specs=specs,
        reason="retry of failed items",
        retry_of=run,
    )


@transaction.atomic
def retry_failed_records(
    *, org: Organization, connection: Connection, document_ids: Iterable[int], actor
) -> SyncRun:
    """Requires attention › Retry these 12: exactly the failed entries of these documents."""
    if connection.org_id != org.id or connection.status != ConnectionStatus.ACTIVE:
        raise ValidationError("Reconnect or enable the connection before retrying.")
    failed = SyncRecord.objects.for_org(org).filter(
        connection=connection, document_id__in=list(document_ids), status=RecordStatus.FAILED
    )
    specs = [
        EntrySpec(*row) for row in failed.values_list("document_id", "entry_type", "payment_id")
    ]
    return _start_run(
        connection=connection,
        trigger=Trigger.RETRY,
        actor=actor,
        specs=specs,
        reason="retry of failed items",
    )
