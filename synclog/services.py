"""The sync engine: every write to sync records, attempts and runs (DESIGN §4).

Document changes mark records Pending in the caller's transaction and enqueue a task on commit.
A worker claims a record with a lease (no transaction is held across HTTP), builds the payload
from the document as it is now, and pushes it through the connection's connector; the attempt,
the record and the run are written together afterwards.
"""

import dataclasses
import datetime
import hashlib
import json
import logging
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, F, JSONField, Q, Value
from django.utils import timezone

from accounts.models import Organization
from documents.models import Attachment, Document, DocumentKind, DocumentStatus, Payment
from integrations.connectors import connector_class_for
from integrations.connectors.base import (
    BatchItemResult,
    CallRecord,
    Capabilities,
    Connector,
    EntryKind,
    EntryPayload,
    EntryState,
    entry_differences,
)
from integrations.connectors.errors import (
    AuthError,
    BookedError,
    ConnectorError,
    DataProcessingError,
    DuplicateError,
    EntryGoneError,
    LedgerValidationError,
    NotFoundError,
    OrganisationGoneError,
    PermanentError,
    RateLimitedError,
    TransientError,
    UnknownOutcomeError,
)
from integrations.models import Connection, ConnectionStatus
from integrations.payloads import build_entry_payload, build_payment_payload
from integrations.selectors import mapping_index
from integrations.services import (
    connection_address_error,
    connection_mark_needs_reauth,
    connector_for,
)
from synclog.models import (
    EntryType,
    Operation,
    Outcome,
    RecordStatus,
    StatusCode,
    SyncAttempt,
    SyncRecord,
    SyncRun,
    SyncRunItem,
    SyncStatusChange,
    Trigger,
)
from synclog.ratelimit import Grant, Limits, get_rate_limiter
from syncsvc.outages import ALREADY_SAVED, save_through_outage
from webhooks.services import webhook_emit_records_failed, webhook_emit_run_finished

logger = logging.getLogger(__name__)

ENTRY_TYPE_FOR_KIND = {
    DocumentKind.BILL: EntryType.BILL,
    DocumentKind.INVOICE: EntryType.INVOICE,
    DocumentKind.EXPENSE: EntryType.EXPENSE,
}
PAYMENT_TYPE_FOR_KIND = {
    DocumentKind.BILL: EntryType.BILL_PAYMENT,
    DocumentKind.INVOICE: EntryType.INVOICE_PAYMENT,
    # An expense paid from a bank account is booked as a supplier bill and its payment.
    DocumentKind.EXPENSE: EntryType.BILL_PAYMENT,
}
CONNECTOR_KIND = {
    EntryType.BILL: EntryKind.BILL,
    EntryType.INVOICE: EntryKind.INVOICE,
    EntryType.EXPENSE: EntryKind.BILL,
}
SYNCABLE_STATUSES = (DocumentStatus.APPROVED, DocumentStatus.PAID, DocumentStatus.VOID)
# Connections whose records are kept: needs_reauth records wait for the reconnect.
COLLECTING_STATUSES = (ConnectionStatus.ACTIVE, ConnectionStatus.NEEDS_REAUTH)

QUEUE_FOR_TRIGGER = {
    Trigger.MANUAL: "interactive",
    Trigger.AUTO: "sync",
    Trigger.SWEEP: "sync",
    Trigger.API: "bulk",
    Trigger.BULK: "bulk",
    Trigger.FORCE: "bulk",
    Trigger.RETRY: "bulk",
}
FIELD_REASONS = {
    "number": "number changed",
    "contact": "contact changed",
    "issue_date": "issue date changed",
    "due_date": "due date changed",
    "currency": "currency changed",
    "total": "amount changed",
    "category": "category changed",
    "department": "department changed",
    "description": "description changed",
    "lines": "lines changed",
}
# Payload fields a change of which the ledger does not hold (it keeps no description).
UNSYNCED_FIELDS = frozenset({"description"})


# --- marking records Pending ---------------------------------------------------------------------


@dataclass(frozen=True)
class EntrySpec:
    """One entry of one document to (re)push: the bill/invoice itself, or one payment of it."""

    document_id: int
    entry_type: str
    payment_id: int | None = None


def _entry_specs(
    document_id: int, kind: str, *, entry: bool, payment_ids: Iterable[int]
) -> list[EntrySpec]:
    specs = []
    if entry:
        specs.append(EntrySpec(document_id, ENTRY_TYPE_FOR_KIND[kind]))
    specs.extend(
        EntrySpec(document_id, PAYMENT_TYPE_FOR_KIND[kind], payment_id)
        for payment_id in payment_ids
    )
    return specs


def _mark_pending(
    *,
    connection: Connection,
    specs: list[EntrySpec],
    reason: str,
    trigger: str,
    actor=None,
    run: SyncRun | None = None,
) -> list[int]:
    """Create the missing records and make all of them Pending, in a fixed number of queries."""
    if not specs:
        return []
    document_ids = {spec.document_id for spec in specs}

    def existing() -> dict[tuple, int]:
        rows = SyncRecord.objects.filter(
            connection=connection, document_id__in=document_ids
        ).values_list("id", "document_id", "entry_type", "payment_id")
        return {(doc, entry_type, payment): pk for pk, doc, entry_type, payment in rows}

    known = existing()
    keys = [(spec.document_id, spec.entry_type, spec.payment_id) for spec in specs]
    missing = [key for key in keys if key not in known]
    if missing:
        SyncRecord.objects.bulk_create(
            [
                SyncRecord(
                    org_id=connection.org_id,
                    connection=connection,
                    document_id=document_id,
                    entry_type=entry_type,
                    payment_id=payment_id,
                )
                for document_id, entry_type, payment_id in missing
            ],
            # A concurrent request may have made the same record: the unique constraints decide.
            ignore_conflicts=True,
        )
        known = existing()
    ids = [known[key] for key in keys]
    changes = {
        "status": RecordStatus.PENDING,
        "version": F("version") + 1,
        "pending_reason": reason[:200],
        "pending_trigger": trigger,
        "pending_actor": actor if getattr(actor, "is_authenticated", False) else None,
        "attempt_count": 0,
        "next_retry_at": None,
        "updated_at": timezone.now(),
    }
    if run is not None:
        changes["run"] = run
        SyncRunItem.objects.bulk_create(
            [SyncRunItem(run=run, record_id=pk) for pk in ids], ignore_conflicts=True
        )
    records = SyncRecord.objects.filter(pk__in=ids)
    if run is None:
        # A change outside any run detaches finished records from their old run.
        records.exclude(status=RecordStatus.PENDING).update(run=None)
    records.update(**changes)
    return ids


def sync_records_enqueue(record_ids: list[int], *, trigger: str, countdown: float = 0) -> None:
    """Send the records' tasks to the queue of their trigger, after the current transaction."""
    if not record_ids:
        return

    def send():
        from synclog.tasks import sync_batch, sync_record

        queue = QUEUE_FOR_TRIGGER.get(trigger, "sync")
        records = SyncRecord.objects.filter(pk__in=record_ids)
        records.update(enqueued_at=timezone.now())
        if trigger in BATCHED_TRIGGERS and len(record_ids) > 1:
            # Bulk work goes in batches per connection (see sync_batch_push).
            by_connection: dict[tuple[int, str], list[int]] = {}
            for pk, connection_id, provider in records.values_list(
                "pk", "connection_id", "connection__provider"
            ):
                by_connection.setdefault((connection_id, provider), []).append(pk)
            messages = [
                (sync_batch, sorted(ids[start : start + size]))
                for (_, provider), ids in by_connection.items()
                # As many as the ledger takes in one batch request, at most SYNC_BATCH_SIZE.
                for size in [min(settings.SYNC_BATCH_SIZE, _provider_caps(provider).batch_size)]
                for start in range(0, len(ids), size)
            ]
        else:
            messages = [(sync_record, record_id) for record_id in record_ids]
        for index, (task, argument) in enumerate(messages):
            try:
                task.apply_async(args=[argument], countdown=countdown, queue=queue)
            except Exception:
                # The broker is down. The change itself is saved and its records are Pending
                # (the outbox): the next sweep sends them, so the user's action must not fail.
                unsent = [
                    pk
                    for _, arg in messages[index:]
                    for pk in (arg if isinstance(arg, list) else [arg])
                ]
                SyncRecord.objects.filter(pk__in=unsent).update(enqueued_at=None)
                logger.warning("Broker unavailable: %d records left to the sweep", len(unsent))
                return

    transaction.on_commit(send)


def request_sync(
    *,
    document: Document,
    reason: str,
    trigger: str = Trigger.AUTO,
    actor=None,
    entry: bool = True,
    payments: Iterable[Payment] = (),
) -> list[int]:
    """Called by the document services in their transaction: the ledger must learn of a change.

    Drafts and documents awaiting approval never sync; a document that was never pushed and is
    now void has nothing to push.
    """
    if document.status not in SYNCABLE_STATUSES or document.kind not in ENTRY_TYPE_FOR_KIND:
        return []
    if document.kind == DocumentKind.EXPENSE and _held_in_dataset(document.pk):
        return []
    payment_ids = [payment.pk for payment in payments]
    # The first change goes at once. A change made while the document still waits to be pushed
    # is coalesced: the waiting push takes it along, so quick successive edits cost one push.
    waiting = SyncRecord.objects.filter(document=document, status=RecordStatus.PENDING).exists()
    record_ids = []
    for connection in Connection.objects.for_org(document.org).filter(
        status__in=COLLECTING_STATUSES
    ):
        specs = _entry_specs(document.pk, document.kind, entry=entry, payment_ids=payment_ids)
        record_ids += _mark_pending(
            connection=connection, specs=specs, reason=reason, trigger=trigger, actor=actor
        )
    countdown = settings.SYNC_COALESCE_SECONDS if waiting else 0
    sync_records_enqueue(record_ids, trigger=trigger, countdown=countdown)
    return record_ids


def _held_in_dataset(document_id: int) -> bool:
    """An expense of a staged dataset waits for the sync over its dataset (Codat's model):
    an edit before then changes what that sync will push, it does not push on its own."""
    return Document.objects.filter(
        pk=document_id, expense_dataset_item__dataset__status="staged"
    ).exists()


def request_sync_documents(
    *, org: Organization, documents: list[Document], reason: str, actor=None
) -> list[int]:
    """request_sync for many newly approved documents at once (an expense dataset of an
    organisation that syncs on push): the same records and tasks, in a fixed number of queries."""
    specs = [
        spec
        for document in documents
        if document.status in SYNCABLE_STATUSES and document.kind in ENTRY_TYPE_FOR_KIND
        for spec in _entry_specs(document.pk, document.kind, entry=True, payment_ids=())
    ]
    record_ids = []
    for connection in Connection.objects.for_org(org).filter(status__in=COLLECTING_STATUSES):
        record_ids += _mark_pending(
            connection=connection, specs=specs, reason=reason, trigger=Trigger.AUTO, actor=actor
        )
    sync_records_enqueue(record_ids, trigger=Trigger.AUTO)
    return record_ids


def reason_for_changes(changed_fields: Iterable[str]) -> str:
    reasons = [FIELD_REASONS.get(name, f"{name} changed") for name in sorted(changed_fields)]
    return ", ".join(reasons)


def request_sync_for_update(*, document: Document, changed_fields: Iterable[str], actor) -> None:
    synced = set(changed_fields) - UNSYNCED_FIELDS
    if synced:
        request_sync(document=document, reason=reason_for_changes(synced), actor=actor)


# --- runs: manual, bulk, force, retry ------------------------------------------------------------


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
    fields = ["total", "selection", "selection_prepared"]
    if run.selection is None and run.total == 0:
        run.status_code = StatusCode.NOTHING_TO_PUSH
        run.finished_at = timezone.now()
        fields += ["status_code", "finished_at"]
    run.save(update_fields=fields)
    if run.finished_at is not None:
        webhook_emit_run_finished(run=run)
    elif run.selection is None and not ids:
        # The last chunk added nothing, and the earlier ones may all have ended already.
        _run_count(run.pk, Counter(), now=timezone.now())
    sync_records_enqueue(ids, trigger=run.trigger)


@transaction.atomic
def resync(*, document: Document, connection: Connection, entry: str, actor) -> SyncRun:
    """The Re-sync dialog: push the bill entry, or the payment entry, of one document again."""
    if document.kind not in ENTRY_TYPE_FOR_KIND:
        raise ValidationError(f"{document.get_kind_display()}s are not pushed as ledger entries.")
    if document.status not in SYNCABLE_STATUSES:
        raise ValidationError("Only approved, paid or void documents are synced.")
    if connection.org_id != document.org_id or connection.status not in COLLECTING_STATUSES:
        raise ValidationError({"connection": "Choose an active connection."})
    if entry == "payment":
        if not (document.status == DocumentStatus.PAID or document.marked_paid):
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
        reason=f"pushed as a new entry ({entry.last_error_message.lower()})",
    )


def _bulk_specs(documents, connection: Connection) -> list[EntrySpec]:
    """DESIGN §4.4: every existing entry is updated; where none exists, the bill for unpaid
    documents and bill + payments for paid ones. Read as plain rows: a selection may hold
    tens of thousands of documents."""
    with_records = set(
        SyncRecord.objects.filter(
            connection=connection, payment__isnull=False, document__in=documents
        ).values_list("payment_id", flat=True)
    )
    payments: dict[int, list[int]] = {}
    for document_id, payment_id in (
        Payment.objects.filter(document__in=documents)
        .order_by("pk")
        .values_list("document_id", "pk")
    ):
        payments.setdefault(document_id, []).append(payment_id)
    specs = []
    rows = documents.order_by("pk").values_list("pk", "kind", "status", "marked_paid")
    for pk, kind, status, marked_paid in rows:
        paid = status == DocumentStatus.PAID or marked_paid
        pushed = [p for p in payments.get(pk, ()) if paid or p in with_records]
        specs += _entry_specs(pk, kind, entry=True, payment_ids=pushed)
    return specs


def _syncable_documents(org: Organization):
    return Document.objects.for_org(org).filter(
        status__in=SYNCABLE_STATUSES, kind__in=list(ENTRY_TYPE_FOR_KIND)
    )


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
                documents = _syncable_documents(run.org).filter(pk__in=chunk)
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
    # Only what is still Failed: a record reconciled by hand since (marked Complete) may have
    # its entry typed into the ledger without our reference, and a push would double it.
    failed = SyncRunItem.objects.filter(
        run=run, outcome=SyncRunItem.Outcome.FAILED, record__status=RecordStatus.FAILED
    ).values_list("record__document_id", "record__entry_type", "record__payment_id")
    specs = [EntrySpec(*row) for row in failed]
    if not specs:
        if SyncRunItem.objects.filter(run=run, outcome=SyncRunItem.Outcome.FAILED).exists():
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
    """Requires attention › Retry these N: exactly the failed entries of these documents."""
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


@transaction.atomic
def sync_status_update(
    *, org: Organization, record_ids: Iterable[int], to_status: int, actor, note: str = ""
) -> int:
    """DESIGN §4.7: Failed → Complete after a manual reconcile, or any → Pending for a fresh try.

    Changes only our record, audited with who, when, from and to.
    """
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
    SyncStatusChange.objects.bulk_create(
        SyncStatusChange(
            record=record,
            actor=actor if getattr(actor, "is_authenticated", False) else None,
            from_status=record.status,
            to_status=to_status,
            note=note[:300],
        )
        for record in records
    )
    ids = [record.pk for record in records]
    if to_status == RecordStatus.PENDING:
        SyncRecord.objects.filter(pk__in=ids).update(
            status=RecordStatus.PENDING,
            version=F("version") + 1,
            pending_reason="status set to Pending",
            pending_trigger=Trigger.MANUAL,
            pending_actor=actor if getattr(actor, "is_authenticated", False) else None,
            attempt_count=0,
            next_retry_at=None,
            updated_at=timezone.now(),
        )
        sync_records_enqueue(ids, trigger=Trigger.MANUAL)
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
        _finish_run_items({pk: (SyncRunItem.Outcome.RESOLVED, None) for pk in ids})
    return len(ids)


def connection_resume(*, connection: Connection) -> int:
    """After a reconnect or enable: push what waited meanwhile."""
    ids = list(
        SyncRecord.objects.filter(connection=connection, status=RecordStatus.PENDING).values_list(
            "pk", flat=True
        )
    )
    with transaction.atomic():
        SyncRecord.objects.filter(pk__in=ids).update(next_retry_at=None)
        sync_records_enqueue(ids, trigger=Trigger.SWEEP)
    return len(ids)


def sync_sweep(*, now: datetime.datetime | None = None) -> int:
    """Beat: release expired leases and re-enqueue Pending records whose task may have been lost
    (a broker restart, a worker killed before it acknowledged)."""
    now = now or timezone.now()
    expired = SyncRecord.objects.filter(claimed_until__lt=now)
    # A lease that ran out means its push died (a killed worker, a database outage): its task
    # is gone, so these records go again now, however recently they were sent.
    expired.filter(status=RecordStatus.PENDING).update(enqueued_at=None)
    expired.update(claimed_by="", claimed_until=None)
    stale = now - datetime.timedelta(seconds=settings.SYNC_SWEEP_AFTER_SECONDS)
    # A bulk backlog waits in its queue for quota a long time: do not resend it every sweep.
    stale_bulk = now - datetime.timedelta(seconds=settings.SYNC_SWEEP_BULK_AFTER_SECONDS)
    rows = list(
        SyncRecord.objects.filter(
            status=RecordStatus.PENDING,
            connection__status=ConnectionStatus.ACTIVE,
            claimed_until__isnull=True,
        )
        .filter(Q(next_retry_at__isnull=True) | Q(next_retry_at__lte=now))
        .filter(
            Q(enqueued_at__isnull=True)
            | Q(enqueued_at__lt=stale_bulk)
            | (Q(enqueued_at__lt=stale) & ~Q(pending_trigger__in=list(BATCHED_TRIGGERS)))
        )
        .values_list("pk", "pending_trigger")[: settings.SYNC_SWEEP_BATCH]
    )
    lost_preparations = list(
        SyncRun.objects.filter(selection__isnull=False, started_at__lt=stale).values_list(
            "pk", flat=True
        )
    )
    batched = [pk for pk, trigger in rows if trigger in BATCHED_TRIGGERS]
    alone = [pk for pk, trigger in rows if trigger not in BATCHED_TRIGGERS]
    with transaction.atomic():
        # Bulk work stays in batches (one create per batch of new bills, not per bill) on the
        # bulk queue; the attempts keep the trigger the records were marked with.
        sync_records_enqueue(batched, trigger=Trigger.BULK)
        sync_records_enqueue(alone, trigger=Trigger.SWEEP)
        sync_runs_prepare_enqueue(lost_preparations)
    return len(rows)


# --- pushing one record ---------------------------------------------------------------------


class _Retry(Exception):
    """Not now: try this record again after `seconds` (quota, bill first, a version race)."""

    def __init__(self, seconds: float):
        self.seconds = seconds


@dataclass
class _AttemptLog:
    started_at: datetime.datetime
    monotonic: float
    calls: list[CallRecord] = field(default_factory=list)
    operation: str = Operation.NONE

    def record(self, call: CallRecord) -> None:
        self.calls.append(call)


def sync_record_push(*, record_id: int, worker: str) -> float | None:
    """Push one record if it is Pending and due; returns the seconds after which to run again."""
    # Unique per call: the processes of one worker share its name, and a lease must be ours only.
    worker = f"{worker}:{uuid.uuid4().hex[:8]}"
    now = timezone.now()
    claimed = (
        SyncRecord.objects.filter(pk=record_id, status=RecordStatus.PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .filter(Q(next_retry_at__isnull=True) | Q(next_retry_at__lte=now))
        .update(
            claimed_by=worker[:200],
            claimed_until=now + datetime.timedelta(seconds=settings.SYNC_LEASE_SECONDS),
        )
    )
    if not claimed:
        # Done, claimed by another worker, or waiting for its retry time (a task is scheduled).
        return None
    try:
        return _push_claimed(record_id, worker)
    except _Retry as retry:
        return retry.seconds
    finally:
        SyncRecord.objects.filter(pk=record_id, claimed_by=worker[:200]).update(
            claimed_by="", claimed_until=None
        )


def _push_claimed(record_id: int, worker: str) -> float | None:
    record = SyncRecord.objects.select_related(
        "connection",
        "document",
        "document__org",
        "document__contact",
        "document__category",
        "document__department",
        "payment",
    ).get(pk=record_id)
    connection = record.connection
    if connection.status != ConnectionStatus.ACTIVE:
        # needs_reauth, disabled, disconnected: the record waits; reconnect or enable resumes it.
        if connection.status == ConnectionStatus.NEEDS_REAUTH and _in_open_run(record):
            # A sync waits for it: tell it why now (4220), not after the reconnect.
            log = _AttemptLog(started_at=timezone.now(), monotonic=time.monotonic())
            _wait_for_reauth(
                connection, [record], log, _reconnect_error(connection), mark_connection=False
            )
        return None
    log = _AttemptLog(started_at=timezone.now(), monotonic=time.monotonic())
    address_error = connection_address_error(connection)
    if address_error is not None:  # e.g. an emulator address after emulators were switched off
        _fail(record, log, address_error)
        return None
    payload = digest = None
    if not record.is_payment:
        try:
            payload = _build_payload(
                record.document,
                connection=connection,
                mappings=mapping_index(connection=connection),
            )
        except ConnectorError as error:  # a missing mapping: nothing was sent
            _fail(record, log, error)
            return None
        digest = payload_hash(payload)
        refusal = _known_booked_refusal(record, digest)
        if refusal is not None:
            _fail(record, log, refusal)
            return None
    linked = _linked_elsewhere([record]) if payload is not None else set()
    expected = _expected_calls(record, payload, digest, linked)
    if expected == 0:
        # Nothing to send (an unchanged entry, a pushed payment): no quota, no connector.
        log.operation = Operation.NOOP
        return _complete(record, log, _unchanged_result(record, digest))
    limiter = get_rate_limiter()
    quota_key = _quota_key(connection)
    limits = _limits(connection)
    calls = min(expected, limits.per_window)
    # The lease outlives the slowest push: every call may take the whole HTTP timeout.
    lease = 30 + calls * settings.LEDGER_HTTP_TIMEOUT_SECONDS
    grant = limiter.try_acquire(quota_key, limits, calls=calls, lease_seconds=lease)
    if not isinstance(grant, Grant):
        # No quota now: the task comes back when there is, instead of sleeping in a worker.
        raise _Retry(float(grant))
    connector = connector_for(connection, record_call=log.record)
    try:
        if record.is_payment:
            result = _push_payment(record, connector, log)
        else:
            result = _push_entry(record, payload, digest, connector, log, linked=linked)
    except RateLimitedError as error:
        limiter.pause(quota_key, error.retry_after)
        return _retry_later(record, log, error, minimum=error.retry_after)
    except TransientError as error:
        return _retry_later(record, log, error)
    except AuthError as error:
        _wait_for_reauth(connection, [record], log, error)
        return None
    except ConnectorError as error:
        _fail(record, log, error)
        return None
    finally:
        limiter.release(grant)
        connector.close()
    return _complete(record, log, result)


def _wait_for_reauth(
    connection: Connection,
    records: list[SyncRecord],
    log: _AttemptLog,
    error: AuthError,
    *,
    mark_connection: bool = True,
) -> None:
    """The ledger refused our access: the connection needs a reconnect, and these records wait
    for it Pending, not Failed (the error says why). The syncs waiting for them count them
    failed with 4220 and the reconnect hint (so they end, and send sync.failed, instead of
    staying 1000); once reconnected, their pushes count there as fixed since.

    `mark_connection=False`: the connection is marked already, nothing was sent (Skipped)."""
    error.hint = error.hint or _reconnect_error(connection).hint
    outcome = Outcome.FAILED if mark_connection else Outcome.SKIPPED
    # 4220 de-authorised, or 4040 when the organisation itself is gone from the ledger.
    code = error.status_code if error.status_code in StatusCode.values else StatusCode.DEAUTHORISED

    def write():
        with transaction.atomic():
            if mark_connection:
                connection_mark_needs_reauth(connection=connection, error=error)
            for record in records:
                _set_error(record, error, status=RecordStatus.PENDING)
                _write_attempt(record, log, outcome, code, error=error)
            _finish_run_items({record.pk: (SyncRunItem.Outcome.FAILED, code) for record in records})

    if records:
        _save_answer(log, write, attempt_of=records[0].pk)


def _build_payload(document: Document, *, connection: Connection, mappings) -> EntryPayload:
    """The entry as the ledger should hold it, checked before anything is sent. A document
    that cannot be built (a value the payload cannot take, no line to book) is our own data
    processing error (5120), named on its record, instead of a crashed task."""
    try:
        payload = build_entry_payload(document, connection=connection, mappings=mappings)
    except ConnectorError:
        raise  # a missing mapping names itself (4000)
    except (ArithmeticError, AttributeError, LookupError, TypeError, ValueError) as error:
        logger.exception("Payload of document %s could not be built", document.pk)
        raise DataProcessingError(
            f"The entry of {document} could not be built: {error}",
            explanation="ledgersync could not turn this document into a ledger entry; nothing "
            "was sent.",
            hint="Check the document's lines, amounts and mappings, correct it, then re-sync; "
            "tell support if it persists.",
        ) from error
    if not payload.lines:
        raise DataProcessingError(
            f"{document} has no line to book.",
            explanation="A ledger entry needs at least one line with an account; this document "
            "has none, so nothing was sent.",
            hint="Add a line to the document, then re-sync.",
        )
    return payload


def _in_open_run(record: SyncRecord) -> bool:
    return SyncRunItem.objects.filter(
        record_id=record.pk, outcome=SyncRunItem.Outcome.PENDING
    ).exists()


def _reconnect_error(connection: Connection) -> AuthError:
    """Why a record of a connection that needs a reconnect waits, and what to do."""
    ledger = connection.get_provider_display()
    # The refusal that marked the connection decides the code: 4040 when the organisation
    # itself is gone from the ledger, else 4220.
    refused_with = (
        SyncAttempt.objects.filter(
            record__connection=connection,
            status_code__in=(StatusCode.ORG_DELETED, StatusCode.DEAUTHORISED),
        )
        .order_by("-id")
        .values_list("status_code", flat=True)
        .first()
    )
    error_class = OrganisationGoneError if refused_with == StatusCode.ORG_DELETED else AuthError
    return error_class(
        connection.last_error or f"{ledger} refused ledgersync's access.",
        explanation=f"{ledger} no longer accepts this connection's authorisation (it was "
        "revoked or expired): nothing can be pushed until an admin reconnects.",
        hint=f"An admin must reconnect {ledger}: Integrations › {connection.name} › Reconnect. "
        "The waiting entries are pushed then.",
    )


def _provider_caps(provider: str) -> Capabilities:
    return connector_class_for(provider).capabilities


def _caps(connection: Connection) -> Capabilities:
    """What the connection's ledger allows and what its calls cost, as its connector says."""
    return _provider_caps(connection.provider)


def connection_quota(*, connection: Connection) -> Limits:
    """The quota the engine keeps to for a connection (its ledger's, or its own setting's)."""
    return _limits(connection)


def _limits(connection: Connection) -> Limits:
    """The ledger's declared quota, with what the connection's settings override (tests, or a
    ledger plan with other limits)."""
    caps = _caps(connection)
    declared = Limits(
        per_window=caps.per_minute,
        window_seconds=60.0,
        max_concurrent=caps.max_concurrent,
        per_day=caps.per_day,
    )
    configured = connection.settings.get("rate_limits") or {}
    allowed = {f.name for f in dataclasses.fields(Limits)}
    try:
        return dataclasses.replace(
            declared, **{key: value for key, value in configured.items() if key in allowed}
        )
    except (TypeError, ValueError):
        logger.warning("Ignoring invalid rate_limits on connection %s", connection.pk)
        return declared


def _expected_calls(
    record: SyncRecord, payload, digest: str | None, linked: Iterable[int] = ()
) -> int:
    """The ledger calls this push will make (the quota it asks for); 0 when nothing is to send."""
    if record.is_payment:
        # Ledgers do not edit payments: one pushed once is done. After a lost answer, a look
        # on the bill comes first.
        return 0 if record.external_id else (2 if record.unknown_outcome else 1)
    if not record.external_id and payload.voided:
        return 0  # voided before it ever reached the ledger: nothing to void there
    uploaded = set(record.uploaded_attachment_ids)
    uploads = sum(
        1 for pk in record.document.attachments.values_list("pk", flat=True) if pk not in uploaded
    )
    if record.external_id:
        update = _caps(record.connection).update_calls
        if _reads_ledger_first(record):
            return uploads + 1 + update  # read the entry, then update it if it differs
        return uploads + (0 if digest == record.payload_hash else update)
    # Not linked yet: a create; a search first where an entry of ours may be there already.
    return (2 if _searches_first(record, linked) else 1) + uploads


def _searches_first(record: SyncRecord, linked_elsewhere: Iterable[int] = ()) -> bool:
    """Whether an unlinked record looks for its entry in the ledger before creating it.

    Only where one of ours may be there: an earlier create's outcome is unknown (a timeout, a
    dropped connection, a worker killed mid-call: `unknown_outcome` is written before every
    create and cleared only by its answer), or the document was linked before (a link dropped
    to push it as a new entry, another connection to the same ledger). A record never
    attempted, or whose attempts all ended with a known outcome, cannot have an entry there:
    the create alone, with its idempotency key, is one call instead of two."""
    return record.unknown_outcome or record.pk in linked_elsewhere


def _linked_elsewhere(records: list[SyncRecord]) -> set[int]:
    """The unlinked records whose document has, or may have, an entry of ours in the same
    ledger through another connection (disconnected and connected again as a new one): one
    query for all of them."""
    fresh = [r for r in records if not r.external_id and not r.unknown_outcome]
    if not fresh:
        return set()
    connection = fresh[0].connection
    elsewhere = set(
        SyncRecord.objects.filter(
            document_id__in={r.document_id for r in fresh},
            payment__isnull=True,
            connection__provider=connection.provider,
            connection__tenant_id=connection.tenant_id,
        )
        .exclude(connection_id=connection.pk)
        .filter(Q(unknown_outcome=True) | ~Q(external_id=""))
        .values_list("document_id", "entry_type")
    )
    return {r.pk for r in fresh if (r.document_id, r.entry_type) in elsewhere}


def _creating(records: list[SyncRecord], create):
    """Send a create: until its answer is saved, the records say that its outcome is unknown
    (written before the call, so that a worker killed mid-call leaves them searching first).
    Any answer from the ledger is known: what it made is in the result, and an error means
    it made nothing; only a lost answer leaves them unknown."""
    fresh = [r for r in records if not r.unknown_outcome]
    if fresh:
        SyncRecord.objects.filter(pk__in=[r.pk for r in fresh]).update(unknown_outcome=True)
    for record in records:
        record.unknown_outcome = True
    try:
        result = create()
    except UnknownOutcomeError:
        raise
    except ConnectorError:
        for record in records:
            record.unknown_outcome = False
        raise
    for record in records:
        record.unknown_outcome = False
    return result


def _known_booked_refusal(record: SyncRecord, digest: str) -> BookedError | None:
    """A change to an entry that an earlier push found booked (paid, or in a locked period),
    in a bulk, force, API or retry run: not sent. The ledger refuses it every time, and such a
    run over N paid bills whose payloads all changed (say, vendors mapped to contacts since)
    spent N calls of the quota on refusals at every run. A manual re-sync reads the entry
    first (its payment may be gone since); the push after an edit asks the ledger once."""
    if (
        not record.booked
        or not record.external_id
        or record.is_payment
        or record.pending_trigger not in BATCHED_TRIGGERS
        or digest == record.payload_hash
    ):
        return None
    ledger = record.connection.get_provider_display()
    entry = f"{record.document.get_kind_display()} entry"
    return BookedError(
        f"{ledger} holds this entry as paid or closed: the change was not sent.",
        explanation=f"The entry is paid, voided or otherwise closed in {ledger}, so {ledger} "
        "refuses any change to it; ledgersync knows this from an earlier push and did not send "
        "the change again.",
        hint=f"If the change must reach {ledger}, remove the payment there, then Re-sync › "
        f"{entry} on the document (it reads {ledger} first); otherwise correct the document "
        f"here to match {ledger}, or mark this record Complete after checking.",
    )


def _reads_ledger_first(record: SyncRecord) -> bool:
    """A manual re-sync of a linked entry compares the document with what the ledger holds now,
    not with our last push: someone may have changed or voided the entry there (drift).
    Automatic pushes trust the payload hash (a read per edit would halve the quota)."""
    return (
        record.pending_trigger == Trigger.MANUAL
        and bool(record.external_id)
        and not record.is_payment
    )


def _unchanged_result(record: SyncRecord, digest: str | None) -> "_PushResult":
    return _PushResult(
        operation=Operation.NOOP,
        external_id=record.external_id,
        number=record.external_number,
        amount=record.synced_amount,
        booked=record.booked,
        payload_hash=digest or record.payload_hash,
    )


def payload_hash(payload) -> str:
    data = json.dumps(dataclasses.asdict(payload), sort_keys=True, default=str)
    return hashlib.sha256(data.encode()).hexdigest()


@dataclass
class _PushResult:
    operation: str
    state: EntryState | None = None
    external_id: str = ""
    number: str = ""
    amount: object = None
    booked: bool = False
    payload_hash: str = ""
    uploaded: list[int] = field(default_factory=list)


def _push_entry(
    record: SyncRecord,
    payload,
    digest: str,
    connector: Connector,
    log: _AttemptLog,
    *,
    linked: Iterable[int] = (),
) -> _PushResult:
    kind = payload.kind  # an expense's is its type's: spend money or a bill
    key = f"ls-{record.pk}-v{record.version}"
    state = None
    if record.external_id:
        if _reads_ledger_first(record):
            state, operation = _repair_entry(record, payload, connector, kind, key)
        elif digest == record.payload_hash:
            operation = Operation.NOOP
        else:
            state = connector.update_entry(
                record.external_id, payload, idempotency_key=f"{key}-update"
            )
            operation = Operation.UPDATE
        external_id = record.external_id
    else:
        # Look before creating where an earlier attempt may have made the entry (a lost answer,
        # a crash); a first push cannot have made one.
        found = []
        if _searches_first(record, linked):
            found = connector.find_entries(
                kind=kind, reference=payload.reference, number=payload.number
            )
        # A voided or deleted entry with our reference is history, not this document's entry.
        found = [state for state in found if not state.gone]
        if len(found) > 1:
            raise _duplicate_error(len(found))
        if found:
            state = found[0]
            operation = Operation.LINK
            if not state.booked:
                state = connector.update_entry(
                    state.external_id, payload, idempotency_key=f"{key}-update"
                )
        else:
            state = _creating(
                [record], lambda: connector.create_entry(payload, idempotency_key=f"{key}-create")
            )
            operation = Operation.CREATE
        external_id = state.external_id
    log.operation = operation
    uploaded = _upload_attachments(record, connector, kind, external_id, log)
    if operation == Operation.NOOP and uploaded:
        log.operation = operation = Operation.UPDATE
    return _PushResult(
        operation=operation,
        state=state,
        external_id=external_id,
        number=state.number if state else record.external_number,
        amount=state.total if state else record.synced_amount,
        booked=state.booked if state else record.booked,
        payload_hash=digest,
        uploaded=uploaded,
    )


def _repair_entry(
    record: SyncRecord, payload, connector: Connector, kind: EntryKind, key: str
) -> tuple[EntryState, str]:
    """Read the linked entry and bring it in line with the document: (its state, operation).
    Says precisely why when the ledger cannot take the change."""
    ledger = record.connection.get_provider_display()
    try:
        state = connector.get_entry(kind=kind, external_id=record.external_id)
    except NotFoundError as error:
        raise _gone_error(ledger, "DELETED", record.external_number, raw=error.raw) from error
    if state.gone and not payload.voided:
        raise _gone_error(ledger, state.status, state.number)
    differences = entry_differences(payload, state)
    if not differences:
        return state, Operation.NOOP
    if state.booked:
        # Sending it would only be refused: say what differs and why it cannot change.
        raise _booked_differences_error(ledger, state, differences)
    state = connector.update_entry(record.external_id, payload, idempotency_key=f"{key}-update")
    return state, Operation.UPDATE


def _booked_differences_error(ledger: str, state: EntryState, differences: list[str]):
    return BookedError(
        f"{ledger} holds this entry as {state.status} and refuses changes to it: "
        + "; ".join(differences)
        + ".",
        explanation=f"The entry is paid (or closed) in {ledger}, so {ledger} does not let "
        "anyone change it; ledgersync did not send the change.",
        hint=f"If the change must reach {ledger}, remove the payment there and re-sync; "
        f"otherwise correct the document here to match {ledger}, or mark this record "
        "Complete after checking.",
    )


# How a Failed record whose entry is gone from the ledger begins its message (see
# SyncRecord.ledger_gone): the Integrations tab then offers to push it as a new entry.
GONE_WORDS = {"VOIDED": "Voided", "DELETED": "Deleted"}


def _gone_error(ledger: str, status: str, number: str, *, raw: str = "") -> EntryGoneError:
    word = GONE_WORDS.get(status, "Voided")
    entry = f"The entry {number}" if number else "The entry"
    return EntryGoneError(
        f"{word} in {ledger}",
        raw=raw,
        explanation=f"{entry} was {word.lower()} in {ledger} after ledgersync pushed it: "
        f"{ledger} keeps it as history and takes no change or payment for it, so re-syncing "
        "it cannot help.",
        hint=f"If the document is still owed, use “Push as a new entry” on its Integrations "
        f"tab: {ledger} gets a new entry and the payments follow (the {word.lower()} one stays "
        f"as it is). If {ledger} is right, void the document here, or mark this record "
        "Complete in Sync History.",
    )


def _upload_attachments(
    record: SyncRecord, connector: Connector, kind: EntryKind, external_id: str, log: _AttemptLog
) -> list[int]:
    done = set(record.uploaded_attachment_ids)
    uploaded = []
    for attachment in record.document.attachments.all():
        if attachment.pk in done:
            continue
        with attachment.file.open("rb") as handle:
            connector.attach_file(
                kind=kind,
                external_id=external_id,
                filename=attachment.filename,
                content=handle.read(),
                content_type=attachment.content_type,
            )
        uploaded.append(attachment.pk)
        # Saved at once: a later failure in the same attempt must not upload it twice.
        record.uploaded_attachment_ids = [*record.uploaded_attachment_ids, attachment.pk]
        _save_answer(
            log,
            lambda: SyncRecord.objects.filter(pk=record.pk).update(
                uploaded_attachment_ids=record.uploaded_attachment_ids
            ),
        )
    return uploaded


def _push_payment(record: SyncRecord, connector: Connector, log: _AttemptLog) -> _PushResult:
    bill_type = ENTRY_TYPE_FOR_KIND[record.document.kind]
    bill = SyncRecord.objects.filter(
        connection=record.connection,
        document=record.document,
        entry_type=bill_type,
        payment__isnull=True,
    ).first()
    if bill is None or not bill.external_id:
        if bill is not None and bill.status == RecordStatus.FAILED:
            raise LedgerValidationError(
                "The bill entry failed, so its payment cannot be pushed.",
                explanation="A payment is pushed only once its bill is in the ledger.",
                hint="Fix the bill entry's error and re-sync it; the payment follows.",
            )
        # A payment is never pushed before its bill entry exists: push the bill first.
        if bill is None or bill.status != RecordStatus.PENDING:
            with transaction.atomic():
                ids = _mark_pending(
                    connection=record.connection,
                    specs=[EntrySpec(record.document_id, bill_type)],
                    reason="needed before its payment",
                    trigger=record.pending_trigger,
                    actor=record.pending_actor,
                )
                sync_records_enqueue(ids, trigger=record.pending_trigger)
        raise _Retry(settings.SYNC_BILL_FIRST_DELAY_SECONDS)
    payload = build_payment_payload(
        record.payment, connection=record.connection, entry_external_id=bill.external_id
    )
    state, operation = None, Operation.CREATE
    if record.unknown_outcome:
        # An earlier push lost its answer (alone, or in a batch under the batch's key): look on
        # the bill for a payment of ours before paying it again.
        state, operation = _find_payment(record, payload, bill, connector), Operation.LINK
    if state is None:
        operation = Operation.CREATE
        try:
            # Keyed by the bill entry too: pushed as a new entry, the bill takes a new payment.
            state = _creating(
                [record],
                lambda: connector.create_payment(
                    payload, idempotency_key=f"ls-{record.pk}-payment-{bill.external_id}"
                ),
            )
        except PermanentError as error:
            raise _payment_refusal(record, bill, connector, log, error) from error
    log.operation = operation
    if _caps(record.connection).paid_entry_is_booked:
        # The ledger's rule: a bill with a payment takes no edit any more.
        _save_answer(log, lambda: SyncRecord.objects.filter(pk=bill.pk).update(booked=True))
    return _PushResult(
        operation=operation,
        external_id=state.external_id,
        amount=state.amount,
        booked=True,
        payload_hash=payload_hash(payload),
    )


def _find_payment(record: SyncRecord, payload, bill: SyncRecord, connector: Connector):
    """A live payment on the bill's entry with this payment's reference that no other record of
    ours holds (a reference typed by a user may repeat), or None."""
    held = set(
        SyncRecord.objects.filter(connection=record.connection, document=record.document)
        .exclude(pk=record.pk)
        .exclude(external_id="")
        .values_list("external_id", flat=True)
    )
    found = connector.find_payments(reference=payload.reference, entry_id=bill.external_id)
    return next((state for state in found if state.external_id not in held), None)


def _payment_refusal(
    record: SyncRecord, bill: SyncRecord, connector: Connector, log: _AttemptLog, error
) -> ConnectorError:
    """A refused payment: when its bill's entry is voided or deleted in the ledger, the bill's
    record says so (it no longer reads Complete) and the payment's hint points at the way out;
    telling the user to re-sync the bill would lead nowhere."""
    ledger = record.connection.get_provider_display()
    try:
        state = connector.get_entry(
            kind=CONNECTOR_KIND[bill.entry_type], external_id=bill.external_id
        )
        status = state.status if state.gone else ""
    except NotFoundError:
        status = "DELETED"
    except ConnectorError:
        return error  # the read failed too: the ledger's own refusal stands
    if not status:
        return error
    gone = _gone_error(ledger, status, bill.external_number)
    _save_answer(log, lambda: _set_error(bill, gone, status=RecordStatus.FAILED))
    return LedgerValidationError(
        error.message,
        raw=error.raw,
        http_status=error.http_status,
        field_errors=error.field_errors,
        explanation=f"{ledger} takes no payment for this bill: its entry was "
        f"{GONE_WORDS.get(status, 'Voided').lower()} in {ledger}.",
        hint="On this document's Integrations tab, push the bill entry as a new entry: its "
        f"payments follow. If {ledger} is right, void the document here, or mark both records "
        "Complete in Sync History.",
    )


def _complete(record: SyncRecord, log: _AttemptLog, result: _PushResult) -> float | None:
    completed = _finish_records(log, [_Finish(record, result=result)])
    # Complete only if nothing changed while we pushed; otherwise the new version goes next.
    return None if completed else 0.0


def _fail(record: SyncRecord, log: _AttemptLog, error: ConnectorError) -> None:
    _finish_records(log, [_Finish(record, error=error)])


@dataclass
class _Finish:
    """How one pushed record ends: with a result (success) or an error (Failed)."""

    record: SyncRecord
    result: _PushResult | None = None
    error: ConnectorError | None = None
    attempt_outcome: str = Outcome.FAILED  # of a failure: Unknown when the answer was lost
    operation: str | None = None  # the attempt's operation, if not the result's or the log's
    calls: list[CallRecord] | None = None  # the calls to log, if not all of the log's


# Written on every record that ends Complete, whatever its entry.
_CLEARED_ON_SUCCESS = {
    "unknown_outcome": False,
    "attempt_count": 0,
    "next_retry_at": None,
    "last_error_code": None,
    "last_error_message": "",
    "last_error_explanation": "",
    "last_error_hint": "",
}
_ENTRY_FACTS = ["external_id", "external_number", "synced_amount", "synced_at"]
_CLAIM_FIELDS = ["claimed_by", "claimed_until"]
_ERROR_FIELDS = [
    "status",
    "last_error_code",
    "last_error_message",
    "last_error_explanation",
    "last_error_hint",
    "updated_at",
]


def _finish_records(log: _AttemptLog, finishes: list[_Finish]) -> set[int]:
    """End several pushed records in one transaction, with a fixed number of queries: their
    facts or errors, their attempts, their run items and runs. Returns the ids now Complete.

    A record changed while it was pushed (its version moved on) keeps its new Pending state: its
    facts are saved (the entry exists), but it is neither Complete nor Failed, and its run items
    wait for the push of the new version.
    """
    if not finishes:
        return set()
    completed = _save_answer(
        log, lambda: _write_finishes(log, finishes), attempt_of=finishes[0].record.pk
    )
    return _now_complete(finishes) if completed is ALREADY_SAVED else completed


def _save_answer(log: _AttemptLog, write, *, attempt_of: int | None = None):
    """`write()` once the ledger has answered: a database outage must not lose that answer (the
    records stay claimed by us meanwhile). When the write logs an attempt of `log` for the record
    `attempt_of`, a COMMIT whose answer was lost is found, not written twice (ALREADY_SAVED)."""
    return save_through_outage(
        write,
        what=lambda: (
            "the ledger's answer to "
            + ", ".join(f"{call.method} {call.url} ({call.http_status})" for call in log.calls)
        ),
        saved=None if attempt_of is None else lambda: _attempt_saved(log, attempt_of),
    )


def _attempt_saved(log: _AttemptLog, record_id: int) -> bool:
    return SyncAttempt.objects.filter(record_id=record_id, started_at=log.started_at).exists()


def _now_complete(finishes: list[_Finish]) -> set[int]:
    ids = [f.record.pk for f in finishes if f.error is None]
    return set(
        SyncRecord.objects.filter(pk__in=ids, status=RecordStatus.COMPLETE).values_list(
            "pk", flat=True
        )
    )


def _write_finishes(log: _AttemptLog, finishes: list[_Finish]) -> set[int]:
    now = timezone.now()
    with transaction.atomic():
        # Locked in id order, so that two batches never wait on each other crosswise.
        versions = dict(
            SyncRecord.objects.select_for_update()
            .filter(pk__in=[finish.record.pk for finish in finishes])
            .order_by("pk")
            .values_list("pk", "version")
        )
        current = [f for f in finishes if versions.get(f.record.pk) == f.record.version]
        succeeded = [f for f in finishes if f.error is None]
        failed = [f for f in current if f.error is not None]
        attempts = []
        item_outcomes: dict[int, tuple[str, int]] = {}
        completed = {f.record.pk for f in current if f.error is None}
        _save_entry_facts(succeeded, completed, now)
        for finish in succeeded:
            noop = finish.result.operation == Operation.NOOP
            code = StatusCode.NOTHING_TO_PUSH if noop else StatusCode.SUCCESS
            attempts.append(
                _attempt(
                    finish.record,
                    log,
                    Outcome.SUCCESS,
                    code,
                    operation=finish.operation or finish.result.operation,
                    calls=finish.calls,
                    finished=now,
                )
            )
            if finish.record.pk in completed:
                outcome = (
                    SyncRunItem.Outcome.NOTHING_TO_PUSH if noop else SyncRunItem.Outcome.PUSHED
                )
                item_outcomes[finish.record.pk] = (outcome, code)
        for finish in finishes:
            if finish.error is not None:
                attempts.append(
                    _attempt(
                        finish.record,
                        log,
                        finish.attempt_outcome,
                        finish.error.status_code,
                        error=finish.error,
                        operation=finish.operation,
                        calls=finish.calls,
                        finished=now,
                    )
                )
        if failed:
            for finish in failed:
                _apply_error(finish.record, finish.error, status=RecordStatus.FAILED, now=now)
                _release(finish.record)
                item_outcomes[finish.record.pk] = (
                    SyncRunItem.Outcome.FAILED,
                    finish.error.status_code,
                )
            _update_rows(
                [f.record for f in failed], [*_ERROR_FIELDS, "unknown_outcome", *_CLAIM_FIELDS]
            )
        _insert_attempts(attempts)
        _finish_run_items(item_outcomes, now=now)
        webhook_emit_records_failed(records=[finish.record for finish in failed])
    return completed


def _save_entry_facts(
    succeeded: list[_Finish], completed: set[int], now: datetime.datetime
) -> None:
    """One UPDATE per record (sent together): what the ledger holds, the error cleared, Complete
    unless a newer change arrived meanwhile, and the claim released."""
    groups: dict[tuple[bool, bool], list[SyncRecord]] = {}
    for finish in succeeded:
        record, result = finish.record, finish.result
        for name, value in _CLEARED_ON_SUCCESS.items():
            setattr(record, name, value)
        record.updated_at = now
        record.payload_hash = result.payload_hash or record.payload_hash
        if result.external_id:
            record.external_id = result.external_id
            record.external_number = result.number or record.external_number
            if result.amount is not None:
                record.synced_amount = result.amount
            record.synced_at = now
            record.booked = result.booked
        if record.pk in completed:
            record.status = RecordStatus.COMPLETE
        _release(record)
        groups.setdefault((bool(result.external_id), record.pk in completed), []).append(record)
    for (with_entry, complete), records in groups.items():
        # `booked` only where the push learnt it: a payment pushed meanwhile may have set it;
        # the status only of records still at the version pushed.
        fields = ["payload_hash", *_CLEARED_ON_SUCCESS, "updated_at", *_CLAIM_FIELDS]
        if with_entry:
            fields += [*_ENTRY_FACTS, "booked"]
        if complete:
            fields.append("status")
        _update_rows(records, fields)


def _release(record: SyncRecord) -> None:
    record.claimed_by = ""
    record.claimed_until = None


def _update_rows(records: list[SyncRecord], fields: list[str]) -> None:
    """Save these fields of each record: one UPDATE by primary key each, sent together.

    QuerySet.bulk_update builds a CASE WHEN per field and row, whose expressions cost ~1 ms CPU
    per record to resolve; psycopg's executemany pipelines plain statements in one round trip.
    """
    if not records:
        return
    meta = SyncRecord._meta
    columns = [meta.get_field(name) for name in fields]
    qn = db_connection.ops.quote_name
    sql = "UPDATE {} SET {} WHERE {} = %s".format(
        qn(meta.db_table),
        ", ".join(f"{qn(column.column)} = %s" for column in columns),
        qn(meta.pk.column),
    )
    rows = [
        [
            column.get_db_prep_save(getattr(record, column.attname), db_connection)
            for column in columns
        ]
        + [record.pk]
        for record in records
    ]
    with db_connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _apply_error(
    record: SyncRecord, error: ConnectorError, *, status: int, now: datetime.datetime
) -> None:
    record.status = status
    record.last_error_code = error.status_code
    record.last_error_message = error.message[:2000]
    record.last_error_explanation = error.explanation
    record.last_error_hint = error.hint
    record.updated_at = now


def _retry_later(
    record: SyncRecord, log: _AttemptLog, error: TransientError, minimum: float = 0
) -> float | None:
    unknown = isinstance(error, UnknownOutcomeError)
    if unknown:
        record.unknown_outcome = True
    attempts = record.attempt_count + 1
    outcome = Outcome.UNKNOWN if unknown else Outcome.FAILED
    if attempts >= settings.SYNC_MAX_ATTEMPTS:
        error.hint = error.hint or "Re-sync once the ledger answers again."

        def give_up():
            with transaction.atomic():
                if unknown:
                    SyncRecord.objects.filter(pk=record.pk).update(unknown_outcome=True)
                _write_finishes(log, [_Finish(record, error=error, attempt_outcome=outcome)])

        _save_answer(log, give_up, attempt_of=record.pk)
        return None
    # Exponential backoff with full jitter, never sooner than the ledger asked.
    ceiling = min(
        settings.SYNC_BACKOFF_CAP_SECONDS, settings.SYNC_BACKOFF_BASE_SECONDS * 2**attempts
    )
    delay = max(minimum, random.uniform(ceiling / 2, ceiling))

    def wait():
        with transaction.atomic():
            _set_error(record, error, status=RecordStatus.PENDING, unknown=unknown)
            SyncRecord.objects.filter(pk=record.pk).update(
                attempt_count=attempts,
                next_retry_at=timezone.now() + datetime.timedelta(seconds=delay),
            )
            _write_attempt(record, log, outcome, error.status_code, error=error)

    _save_answer(log, wait, attempt_of=record.pk)
    return delay


def _set_error(
    record: SyncRecord, error: ConnectorError, *, status: int, unknown: bool | None = None
) -> bool:
    """Store the error; False when a newer change arrived meanwhile (the record stays Pending)."""
    changes = {
        "status": status,
        "last_error_code": error.status_code,
        "last_error_message": error.message[:2000],
        "last_error_explanation": error.explanation,
        "last_error_hint": error.hint,
        "updated_at": timezone.now(),
    }
    # As the push left it: set by a lost answer, cleared by a known one (see _creating).
    changes["unknown_outcome"] = bool(unknown) or record.unknown_outcome
    records = SyncRecord.objects.filter(pk=record.pk)
    if status == RecordStatus.FAILED:
        # A newer change arrived during the push: it stays Pending for that one.
        records = records.filter(version=record.version)
    return bool(records.update(**changes))


def _write_attempt(
    record: SyncRecord, log: _AttemptLog, outcome: str, code: int, *, error=None
) -> SyncAttempt:
    attempt = _attempt(record, log, outcome, code, error=error)
    attempt.save()
    return attempt


def _insert_attempts(attempts: list[SyncAttempt]) -> None:
    """Insert a batch's attempts in one statement, with the logged calls as JSON literals.

    Left alone, Django inserts many rows on PostgreSQL through UNNEST of one array per column,
    and psycopg quotes the elements of a text array in Python, one regex callback per quote
    character: 50 attempts carrying the batch's logged calls cost ~25 ms CPU per document. As
    an expression each value goes through libpq's escaping instead (multi-row VALUES).
    """
    for attempt in attempts:
        attempt.calls = Value(attempt.calls, output_field=JSONField())
    SyncAttempt.objects.bulk_create(attempts)


def _error_detail(error) -> dict:
    """What a program needs of the error: the mapping to add, for a missing one."""
    missing = getattr(error, "missing_mapping", None)
    return {"missing_mapping": missing} if missing else {}


def _attempt(
    record: SyncRecord,
    log: _AttemptLog,
    outcome: str,
    code: int,
    *,
    error=None,
    operation: str | None = None,
    calls: list[CallRecord] | None = None,
    finished: datetime.datetime | None = None,
) -> SyncAttempt:
    """The attempt's log line, not saved yet (a batch saves its attempts together)."""
    calls = log.calls if calls is None else calls
    last_status = next((c.http_status for c in reversed(calls) if c.http_status), None)
    return SyncAttempt(
        org_id=record.org_id,
        record=record,
        run_id=record.run_id,
        trigger=record.pending_trigger,
        actor_id=record.pending_actor_id,
        reason=record.pending_reason,
        operation=operation or log.operation,
        outcome=outcome,
        status_code=code,
        error_message=(error.message if error else "")[:4000],
        explanation=error.explanation if error else "",
        hint=error.hint if error else "",
        error_detail=_error_detail(error),
        http_status=error.http_status if error and error.http_status else last_status,
        calls=[dataclasses.asdict(call) for call in calls[: settings.SYNC_LOGGED_CALLS]],
        duration_ms=int((time.monotonic() - log.monotonic) * 1000),
        started_at=log.started_at,
        finished_at=finished or timezone.now(),
    )


def _finish_run_items(
    outcomes: dict[int, tuple[str, int]], *, now: datetime.datetime | None = None
) -> None:
    """End the run items waiting for these records ({record id: (outcome, status code)}).

    Every run still waiting for a record ends its item: a record taken up by a newer run (a
    second bulk re-sync of the same documents) is pushed once, for both. A record now in the
    ledger also resolves the items it failed in earlier runs (`RESOLVED`): a run's counts,
    status code and Retry failed items follow its records as they are now.
    """
    if not outcomes:
        return
    now = now or timezone.now()
    in_ledger = [pk for pk, (outcome, _) in outcomes.items() if outcome in _IN_LEDGER_OUTCOMES]
    items = list(
        SyncRunItem.objects.select_for_update()
        .filter(record_id__in=list(outcomes))
        .filter(
            Q(outcome=SyncRunItem.Outcome.PENDING)
            | Q(outcome=SyncRunItem.Outcome.FAILED, record_id__in=in_ledger)
        )
        .order_by("pk")
        .values_list("pk", "run_id", "record_id", "outcome")
    )
    by_outcome: dict[tuple[str, int], list[int]] = {}
    resolved: list[int] = []
    per_run: dict[int, Counter] = {}
    for pk, run_id, record_id, was in items:
        counts = per_run.setdefault(run_id, Counter())
        if was == SyncRunItem.Outcome.FAILED:
            # It keeps the code it failed with there (its attempt says why).
            resolved.append(pk)
            counts[SyncRunItem.Outcome.FAILED] -= 1
            counts[SyncRunItem.Outcome.RESOLVED] += 1
            continue
        by_outcome.setdefault(outcomes[record_id], []).append(pk)
        counts[outcomes[record_id][0]] += 1
    for (outcome, code), pks in by_outcome.items():
        SyncRunItem.objects.filter(pk__in=pks).update(
            outcome=outcome, status_code=code, finished_at=now
        )
    if resolved:
        SyncRunItem.objects.filter(pk__in=resolved).update(outcome=SyncRunItem.Outcome.RESOLVED)
    for run_id in sorted(per_run):
        _run_count(run_id, per_run[run_id], now=now)


# Outcomes after which the record's entry is in the ledger (a reconcile by hand counts too).
_IN_LEDGER_OUTCOMES = frozenset(
    {
        SyncRunItem.Outcome.PUSHED,
        SyncRunItem.Outcome.NOTHING_TO_PUSH,
        SyncRunItem.Outcome.RESOLVED,
    }
)


def _run_count(run_id: int, finished_items: Counter, *, now: datetime.datetime) -> None:
    """Add finished items to the run's counts; the last one ends the run with its status code.

    The run row is locked first, so the check for items still pending sees every batch of this
    run committed before ours (READ COMMITTED takes a new snapshot per statement).
    """
    run = (
        SyncRun.objects.select_for_update()
        # A run still being prepared carries its selection (thousands of ids): not read here.
        .defer("selection")
        .annotate(still_preparing=ExpressionWrapper(Q(selection__isnull=False), BooleanField()))
        .get(pk=run_id)
    )
    run.pushed += finished_items[SyncRunItem.Outcome.PUSHED]
    run.nothing_to_push += finished_items[SyncRunItem.Outcome.NOTHING_TO_PUSH]
    run.failed += finished_items[SyncRunItem.Outcome.FAILED]  # less, when some resolved
    run.resolved += finished_items[SyncRunItem.Outcome.RESOLVED]
    fields = ["pushed", "nothing_to_push", "failed", "resolved"]
    finished = (
        run.finished_at is None
        and not run.still_preparing  # more items are coming
        and not SyncRunItem.objects.filter(
            run_id=run_id, outcome=SyncRunItem.Outcome.PENDING
        ).exists()
    )
    if finished:
        run.finished_at = now
        run.status_code = _run_status_code(run)
        fields += ["finished_at", "status_code"]
    elif run.finished_at is not None and finished_items[SyncRunItem.Outcome.RESOLVED]:
        # A finished run whose failures were fixed since: its code follows (no new webhook).
        run.status_code = _run_status_code(run)
        fields.append("status_code")
    run.save(update_fields=fields)
    if finished:
        # In this transaction: the webhook goes out on commit, once the run's end is saved.
        webhook_emit_run_finished(run=run)


def _run_status_code(run: SyncRun) -> int:
    if run.failed:
        # The commonest failure code names the run's failure (a run fails if any item fails).
        return (
            SyncRunItem.objects.filter(run_id=run.pk, outcome=SyncRunItem.Outcome.FAILED)
            .values_list("status_code")
            .annotate(n=Count("id"))
            .order_by("-n")
            .values_list("status_code", flat=True)
            .first()
        ) or StatusCode.DATA_PUSH
    # Items fixed since are in the ledger now: the run's data reached it.
    pushed = run.pushed or run.resolved
    return StatusCode.SUCCESS if pushed else StatusCode.NOTHING_TO_PUSH


# --- pushing many new entries at once ----------------------------------------------------------

BATCHED_TRIGGERS = frozenset({Trigger.BULK, Trigger.FORCE, Trigger.RETRY, Trigger.API})


def sync_batch_push(*, record_ids: list[int], worker: str) -> dict[int, float]:
    """Push several records of one connection; new entries go to the ledger in one batch call.

    A bulk run of N new bills then costs one create per batch instead of one per bill,
    which is what fits a month-end backlog under a ledger's quota (Xero: 60 calls a minute;
    QBO: 40 batch requests a minute). Changed entries are
    read together and updated together, new payments go together; voids, documents with
    attachments and payments whose earlier push lost its answer take the one-record path.
    Returns {record id: seconds} for the records to run again later.
    """
    wait = _batch_quota_wait(record_ids)
    if wait:
        # No quota now: a batch refused after claiming and building its payloads would cost
        # that work again at every window (every waiting batch of a month end wakes together).
        return {pk: wait for pk in record_ids}
    token = f"{worker}:{uuid.uuid4().hex[:8]}"[:200]
    now = timezone.now()
    SyncRecord.objects.filter(pk__in=record_ids, status=RecordStatus.PENDING).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    ).filter(Q(next_retry_at__isnull=True) | Q(next_retry_at__lte=now)).update(
        claimed_by=token,
        claimed_until=now + datetime.timedelta(seconds=settings.SYNC_LEASE_SECONDS),
    )
    records = list(
        # By id first: claimed_by has no index.
        SyncRecord.objects.filter(pk__in=record_ids, claimed_by=token)
        .select_related(
            "connection",
            "document",
            "document__org",
            "document__contact",
            "document__category",
            "document__department",
            "payment",
        )
        .prefetch_related("document__lines")
        .order_by("pk")
    )
    with_attachments = set(
        Attachment.objects.filter(document_id__in={r.document_id for r in records}).values_list(
            "document_id", flat=True
        )
    )
    waits: dict[int, float] = {}
    try:
        # Entries without attachments go together: new ones in one create call, changed ones in
        # one read and one update call, unchanged ones end without a call. Voids and attachments
        # go one by one.
        together = [
            record
            for record in records
            if not record.is_payment
            and record.document_id not in with_attachments
            and (record.external_id or record.document.status != DocumentStatus.VOID)
        ]
        if together and together[0].connection.status == ConnectionStatus.ACTIVE:
            alone, batch_waits = _push_entries_together(together)
            waits.update(batch_waits)
        else:
            alone = together
        # New payments go together too, after the entries (a bill made just now takes its
        # payments in the same run). One whose earlier push lost its answer goes alone, with
        # its own stable idempotency key.
        payments = [
            record
            for record in records
            if record.is_payment and not record.external_id and not record.unknown_outcome
        ]
        if payments and payments[0].connection.status == ConnectionStatus.ACTIVE:
            alone_payments, payment_waits = _push_payments_together(payments)
            waits.update(payment_waits)
        else:
            alone_payments = payments
        done = {r.pk for r in together if r not in alone}
        done |= {r.pk for r in payments if r not in alone_payments}
        for record in records:
            if record.pk in done:
                continue
            try:
                wait = _push_claimed(record.pk, token)
            except _Retry as retry:
                wait = retry.seconds
            if wait is not None:
                waits[record.pk] = wait
    finally:
        SyncRecord.objects.filter(pk__in=record_ids, claimed_by=token).update(
            claimed_by="", claimed_until=None
        )
    return waits


def _batch_quota_wait(record_ids: list[int]) -> float:
    connection = (
        Connection.objects.filter(records__pk=record_ids[0]).first() if record_ids else None
    )
    if connection is None or connection.status != ConnectionStatus.ACTIVE:
        return 0.0
    limits = _limits(connection)
    # A batch of first pushes is one request (a search first only after an unknown outcome).
    calls = min(_caps(connection).batch_call_cost, limits.per_window)
    return get_rate_limiter().wait_for(_quota_key(connection), limits, calls=calls)


def _quota_key(connection: Connection) -> str:
    return f"connection:{connection.pk}"


def _push_entries_together(
    records: list[SyncRecord],
) -> tuple[list[SyncRecord], dict[int, float]]:
    """Unchanged entries end as no-ops, new ones are created in one call, changed ones read and
    updated together; returns the records left to the one-record path (voids, entries known
    booked) and {record id: seconds to wait}."""
    connection = records[0].connection
    log = _AttemptLog(started_at=timezone.now(), monotonic=time.monotonic())
    mappings = mapping_index(connection=connection)
    payloads, digests, unusable, unchanged, new, alone = {}, {}, [], [], [], []
    changed: list[SyncRecord] = []
    address_error = connection_address_error(connection)
    if address_error is not None:  # nothing goes out: every record fails with the reason
        _finish_records(
            log, [_Finish(r, error=address_error, operation=Operation.NONE) for r in records]
        )
        return [], {}
    for record in records:
        try:
            payloads[record.pk] = _build_payload(
                record.document, connection=connection, mappings=mappings
            )
        except ConnectorError as error:  # a missing mapping: nothing was sent
            unusable.append(_Finish(record, error=error, operation=Operation.NONE))
            continue
        digests[record.pk] = payload_hash(payloads[record.pk])
        if not record.external_id:
            new.append(record)
        elif digests[record.pk] == record.payload_hash:
            unchanged.append(_Finish(record, result=_unchanged_result(record, digests[record.pk])))
        elif record.booked or payloads[record.pk].voided:
            # A known refusal ends without a call, and a void is its own kind of write:
            # the one-record path has both.
            alone.append(record)
        else:
            changed.append(record)
    # Written before any call, so that these attempts do not show the batch's calls.
    _finish_records(log, unusable + unchanged)
    waits: dict[int, float] = {}
    # One call per kind of entry: card and bank expenses are spend money, others bills.
    for kind in dict.fromkeys(payloads[record.pk].kind for record in new):
        same = [record for record in new if payloads[record.pk].kind == kind]
        waits.update(_push_new_entries(same, payloads, digests, log))
    for kind in dict.fromkeys(payloads[record.pk].kind for record in changed):
        same = [record for record in changed if payloads[record.pk].kind == kind]
        batch_log = _AttemptLog(started_at=timezone.now(), monotonic=time.monotonic())
        waits.update(_update_entries_together(same, payloads, digests, batch_log))
    return alone, waits


def _update_entries_together(
    records: list[SyncRecord], payloads: dict, digests: dict[int, str], log: _AttemptLog
) -> dict[int, float]:
    """Changed entries of a batch: one read of them all (Xero: GET /Invoices?IDs=…), then one
    write of those the ledger does not hold as the document says already. An entry that
    matches costs no write (2040), one paid or voided there fails with the reason and no
    refused write, the others are updated together, each answered on its own."""
    connection = records[0].connection
    ledger = connection.get_provider_display()
    limiter = get_rate_limiter()
    quota_key = _quota_key(connection)
    limits = _limits(connection)
    grant = limiter.try_acquire(
        quota_key,
        limits,
        # One read of them all, then one batch request of updates.
        calls=min(1 + _caps(connection).batch_call_cost, limits.per_window),
        lease_seconds=30 + 2 * settings.LEDGER_HTTP_TIMEOUT_SECONDS,
    )
    if not isinstance(grant, Grant):
        return {record.pk: float(grant) for record in records}
    connector = connector_for(connection, record_call=log.record)
    kind = payloads[records[0].pk].kind
    waits: dict[int, float] = {}
    finishes: list[_Finish] = []

    def unfinished() -> list[SyncRecord]:
        done = {finish.record.pk for finish in finishes}
        return [record for record in records if record.pk not in done]

    try:
        states = connector.get_entries(kind=kind, external_ids=[r.external_id for r in records])
        read = list(log.calls)  # what a record that ends on the read shows in its log
        to_update = []
        for record in records:
            payload, digest = payloads[record.pk], digests[record.pk]
            state = states.get(record.external_id)
            if state is None or state.gone:
                status = state.status if state is not None else "DELETED"
                error = _gone_error(ledger, status, record.external_number)
                finishes.append(_Finish(record, error=error, operation=Operation.NONE, calls=read))
                continue
            differences = entry_differences(payload, state)
            if not differences:
                result = _state_result(Operation.NOOP, state, digest)
                finishes.append(_Finish(record, result=result, calls=read))
            elif state.booked:
                error = _booked_differences_error(ledger, state, differences)
                finishes.append(_Finish(record, error=error, operation=Operation.NONE, calls=read))
            else:
                to_update.append(record)
        if to_update:
            versions = ",".join(f"{record.pk}-v{record.version}" for record in to_update)
            key = "ls-update-" + hashlib.sha256(versions.encode()).hexdigest()[:40]
            results = connector.update_entries(
                [(record.external_id, payloads[record.pk]) for record in to_update],
                idempotency_key=key,
            )
            log.operation = Operation.UPDATE
            for record, result in zip(to_update, results, strict=True):
                calls = _own_calls(log.calls, result)
                if result.error is not None:
                    finishes.append(_Finish(record, error=result.error, calls=calls))
                else:
                    state = _state_result(Operation.UPDATE, result.state, digests[record.pk])
                    finishes.append(_Finish(record, result=state, calls=calls))
    except RateLimitedError as error:
        limiter.pause(quota_key, error.retry_after)
        waits = _retry_all(unfinished(), log, error, minimum=error.retry_after)
    except TransientError as error:
        waits = _retry_all(unfinished(), log, error)
    except AuthError as error:
        _wait_for_reauth(connection, unfinished(), log, error)
    except ConnectorError as error:
        finishes += [_Finish(record, error=error) for record in unfinished()]
    finally:
        limiter.release(grant)
        connector.close()
        _finish_records(log, finishes)
    return waits


def _push_new_entries(
    records: list[SyncRecord], payloads: dict, digests: dict[int, str], log: _AttemptLog
) -> dict[int, float]:
    connection = records[0].connection
    linked = _linked_elsewhere(records)
    # One call for a batch of first pushes; a search first only for the records that need it.
    searching = [record for record in records if _searches_first(record, linked)]
    requests = 2 if searching else 1
    calls = (1 if searching else 0) + _caps(connection).batch_call_cost
    limiter = get_rate_limiter()
    quota_key = _quota_key(connection)
    limits = _limits(connection)
    grant = limiter.try_acquire(
        quota_key,
        limits,
        calls=min(calls, limits.per_window),
        lease_seconds=30 + requests * settings.LEDGER_HTTP_TIMEOUT_SECONDS,
    )
    if not isinstance(grant, Grant):
        return {record.pk: float(grant) for record in records}
    connector = connector_for(connection, record_call=log.record)
    kind = payloads[records[0].pk].kind  # one kind a batch (_push_entries_together)
    waits: dict[int, float] = {}
    finishes: list[_Finish] = []

    def unfinished() -> list[SyncRecord]:
        done = {finish.record.pk for finish in finishes}
        return [record for record in records if record.pk not in done]

    try:
        found, searched = {}, {record.pk for record in searching}
        if searching:
            found = connector.find_entries_many(
                kind=kind, numbers=[payloads[record.pk].number for record in searching]
            )
        to_create = []
        for record in records:
            if record.pk not in searched:
                to_create.append(record)
                continue
            # A voided or deleted entry with our reference is history, not this document's.
            states = [s for s in found.get(payloads[record.pk].reference, []) if not s.gone]
            if len(states) > 1:
                error = _duplicate_error(len(states))
                finishes.append(_Finish(record, error=error, operation=Operation.NONE))
            elif states:
                # Made by an earlier attempt whose answer was lost: link it, never a second one.
                result = _state_result(Operation.LINK, states[0], digests[record.pk])
                finishes.append(_Finish(record, result=result))
            else:
                to_create.append(record)
        if to_create:
            versions = ",".join(f"{record.pk}-v{record.version}" for record in to_create)
            key = "ls-batch-" + hashlib.sha256(versions.encode()).hexdigest()[:40]
            results = _creating(
                to_create,
                lambda: connector.create_entries(
                    [payloads[record.pk] for record in to_create], idempotency_key=key
                ),
            )
            log.operation = Operation.CREATE
            for record, result in zip(to_create, results, strict=True):
                calls = _own_calls(log.calls, result)
                if result.error is not None:
                    finishes.append(_Finish(record, error=result.error, calls=calls))
                else:
                    state = _state_result(Operation.CREATE, result.state, digests[record.pk])
                    finishes.append(_Finish(record, result=state, calls=calls))
    except RateLimitedError as error:
        limiter.pause(quota_key, error.retry_after)
        waits = _retry_all(unfinished(), log, error, minimum=error.retry_after)
    except TransientError as error:
        waits = _retry_all(unfinished(), log, error)
    except AuthError as error:
        _wait_for_reauth(connection, unfinished(), log, error)
    except ConnectorError as error:
        finishes += [_Finish(record, error=error) for record in unfinished()]
    finally:
        limiter.release(grant)
        connector.close()
        # Whatever went wrong afterwards, what the ledger answered for these is kept.
        _finish_records(log, finishes)
    return waits


def _push_payments_together(
    records: list[SyncRecord],
) -> tuple[list[SyncRecord], dict[int, float]]:
    """New payments whose bill entry exists go to the ledger in one call, each answered on its
    own (a refused one fails alone, in its own document's log). Returns the records left to the
    one-record path (their bill is not in the ledger yet: it goes first there) and
    {record id: seconds to wait}."""
    connection = records[0].connection
    bills = {
        bill.document_id: bill
        for bill in SyncRecord.objects.filter(
            connection=connection,
            document_id__in={record.document_id for record in records},
            payment__isnull=True,
            entry_type__in=set(ENTRY_TYPE_FOR_KIND.values()),
        )
    }
    log = _AttemptLog(started_at=timezone.now(), monotonic=time.monotonic())
    payloads, ready, alone, unusable = {}, [], [], []
    for record in records:
        bill = bills.get(record.document_id)
        if bill is None or not bill.external_id:
            alone.append(record)
            continue
        try:
            payloads[record.pk] = build_payment_payload(
                record.payment, connection=connection, entry_external_id=bill.external_id
            )
        except ConnectorError as error:  # no payment account: nothing was sent
            unusable.append(_Finish(record, error=error, operation=Operation.NONE))
            continue
        ready.append(record)
    _finish_records(log, unusable)
    if not ready:
        return alone, {}
    limiter = get_rate_limiter()
    quota_key = _quota_key(connection)
    limits = _limits(connection)
    grant = limiter.try_acquire(
        quota_key,
        limits,
        calls=min(_caps(connection).batch_call_cost, limits.per_window),
        lease_seconds=30 + settings.LEDGER_HTTP_TIMEOUT_SECONDS,
    )
    if not isinstance(grant, Grant):
        return alone, {record.pk: float(grant) for record in ready}
    connector = connector_for(connection, record_call=log.record)
    waits: dict[int, float] = {}
    finishes: list[_Finish] = []
    # Keyed by the bill entries too, as one payment alone is (see _push_payment).
    parts = ",".join(f"{r.pk}-{bills[r.document_id].external_id}" for r in ready)
    key = "ls-payments-" + hashlib.sha256(parts.encode()).hexdigest()[:40]
    try:
        results = _creating(
            ready,
            lambda: connector.create_payments(
                [payloads[record.pk] for record in ready], idempotency_key=key
            ),
        )
        log.operation = Operation.CREATE
        # Before a refusal's read of its bill joins the log: each keeps its own element.
        batch_calls = list(log.calls)
        paid_bills = []
        for record, result in zip(ready, results, strict=True):
            calls = _own_calls(batch_calls, result)
            if result.error is not None:
                bill = bills[record.document_id]
                error = _payment_refusal(record, bill, connector, log, result.error)
                finishes.append(_Finish(record, error=error, calls=calls))
                continue
            pushed = _PushResult(
                operation=Operation.CREATE,
                external_id=result.state.external_id,
                amount=result.state.amount,
                booked=True,
                payload_hash=payload_hash(payloads[record.pk]),
            )
            finishes.append(_Finish(record, result=pushed, calls=calls))
            paid_bills.append(bills[record.document_id].pk)
        if paid_bills and _caps(connection).paid_entry_is_booked:
            # A bill with a payment is booked in the ledger: it takes no edit any more.
            _save_answer(
                log, lambda: SyncRecord.objects.filter(pk__in=paid_bills).update(booked=True)
            )
    except RateLimitedError as error:
        limiter.pause(quota_key, error.retry_after)
        waits = _retry_all(ready, log, error, minimum=error.retry_after)
    except TransientError as error:
        waits = _retry_all(ready, log, error)
    except AuthError as error:
        _wait_for_reauth(connection, ready, log, error)
    except ConnectorError as error:
        finishes = [_Finish(record, error=error) for record in ready]
    finally:
        limiter.release(grant)
        connector.close()
        _finish_records(log, finishes)
    return alone, waits


def _own_calls(calls: list[CallRecord], result: BatchItemResult) -> list[CallRecord] | None:
    """The batch's calls as one document's log shows them: the create call (the last) with its
    own element of the request and the answer, when the connector gave them."""
    if not calls or not (result.request_body or result.response_body):
        return None
    *before, create = calls
    own = dataclasses.replace(
        create, request_body=result.request_body, response_body=result.response_body
    )
    return [*before, own]


def _retry_all(records, log, error, minimum: float = 0) -> dict[int, float]:
    pending = _save_answer(
        log,
        lambda: set(
            SyncRecord.objects.filter(
                pk__in=[record.pk for record in records], status=RecordStatus.PENDING
            ).values_list("pk", flat=True)
        ),
    )
    waits = {}
    for record in (record for record in records if record.pk in pending):
        wait = _retry_later(record, log, error, minimum=minimum)
        if wait is not None:
            waits[record.pk] = wait
    return waits


def _state_result(operation: str, state: EntryState, digest: str) -> _PushResult:
    return _PushResult(
        operation=operation,
        state=state,
        external_id=state.external_id,
        number=state.number,
        amount=state.total,
        booked=state.booked,
        payload_hash=digest,
    )


def _duplicate_error(count: int) -> DuplicateError:
    return DuplicateError(
        f"{count} entries in the ledger carry this document's reference.",
        explanation="The ledger already holds more than one entry for this document, so "
        "ledgersync will not guess which is right or create another.",
        hint="Delete or void the extra entries in the ledger, then re-sync; or mark this "
        "record Complete after checking.",
    )
