"""Marking records Pending and sending their tasks (DESIGN §4.1, §4.9).

Document changes mark records Pending in the caller's transaction and enqueue a task on commit;
Pending records are the outbox (the sweep resends what the broker lost)."""

import itertools
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from accounts.models import Organization
from documents.models import Document, DocumentKind, Payment
from integrations.models import Connection, ConnectionStatus
from synclog.models import (
    WAITS_FOR_BILL,
    RecordStatus,
    SyncRecord,
    SyncRun,
    SyncRunItem,
    Trigger,
)
from synclog.rules import (
    BATCHED_TRIGGERS,
    COLLECTING_STATUSES,
    ENTRY_TYPE_FOR_KIND,
    PAYMENT_TYPE_FOR_KIND,
    QUEUE_FOR_TRIGGER,
    UNSYNCED_FIELDS,
    document_syncs,
    reason_for_changes,
)
from synclog.services.quota import _provider_caps, bulk_batch_countdowns
from synclog.services.rows import columns, insert_values, select_instances
from syncsvc.database import IdArray

logger = logging.getLogger(__name__)


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
    actor_label: str = "",
    run: SyncRun | None = None,
) -> list[int]:
    """Create the missing records and make all of them Pending, in a fixed number of queries.
    `actor_label` names who asked when it was not a signed-in user (an API key); with neither,
    the attempts read as automatic."""
    if not specs:
        return []
    document_ids = {spec.document_id for spec in specs}

    def existing() -> dict[tuple, int]:
        # The ids as one array: a run's preparation marks 500 documents at a time, and their
        # ids as 500 parameters cost psycopg more CPU than the statement itself.
        with db_connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, document_id, entry_type, payment_id FROM synclog_syncrecord"
                " WHERE connection_id = %s AND document_id = ANY(%s)",
                [connection.pk, IdArray(document_ids)],
            )
            rows = cursor.fetchall()
        return {(doc, entry_type, payment): pk for pk, doc, entry_type, payment in rows}

    known = existing()
    keys = [(spec.document_id, spec.entry_type, spec.payment_id) for spec in specs]
    missing = [key for key in keys if key not in known]
    if missing:
        insert_values(
            SyncRecord,
            [
                {
                    "org_id": connection.org_id,
                    "connection_id": connection.pk,
                    "document_id": document_id,
                    "entry_type": entry_type,
                    "payment_id": payment_id,
                }
                for document_id, entry_type, payment_id in missing
            ],
            # A concurrent request may have made the same record: the unique constraints decide.
            ignore_conflicts=True,
        )
        known = existing()
    ids = [known[key] for key in keys]
    user = actor if getattr(actor, "is_authenticated", False) else None
    changes = {
        "status": RecordStatus.PENDING,
        "version": F("version") + 1,
        "pending_reason": reason[:200],
        "pending_trigger": trigger,
        "pending_actor": user,
        # Written every time: a change by someone else must not keep the last one's name.
        "pending_actor_label": "" if user else actor_label[:150],
        "attempt_count": 0,
        "next_retry_at": None,
        "updated_at": timezone.now(),
    }
    if run is not None:
        changes["run"] = run
        _insert_run_items(run, ids)
    _make_pending(ids, changes)
    # Payments waiting for these entries (their bill failed) go with them, in the same run and
    # batch, after them. Read after the entries' write: see outcomes._wait_for_bill. Only
    # documents with a payment record can have one.
    entries = {spec.document_id for spec in specs if spec.payment_id is None}
    paid = {document_id for document_id, _, payment_id in known if payment_id is not None}
    if entries & paid:
        waiting = list(
            SyncRecord.objects.filter(
                connection=connection,
                document_id__in=entries & paid,
                status=RecordStatus.PENDING,
                pending_reason=WAITS_FOR_BILL,
            )
            .exclude(pk__in=ids)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        if waiting:
            if run is not None:
                _insert_run_items(run, waiting)
            SyncRecord.objects.filter(pk__in=waiting).update(**changes)
            ids += waiting
    return ids


def _make_pending(ids: list[int], changes: dict) -> None:
    """Write `changes` (_mark_pending's) on these records in one statement, their ids as one
    array (see existing() in _mark_pending); outside a run, finished records leave their old
    run (a change outside any run detaches them)."""
    run = changes.get("run")
    actor = changes["pending_actor"]
    with db_connection.cursor() as cursor:
        cursor.execute(
            "UPDATE synclog_syncrecord SET status = %(pending)s, version = version + 1,"
            " pending_reason = %(reason)s, pending_trigger = %(trigger)s,"
            " pending_actor_id = %(actor)s, pending_actor_label = %(actor_label)s,"
            " attempt_count = 0, next_retry_at = NULL,"
            " updated_at = %(now)s,"
            " run_id = CASE WHEN %(run)s::bigint IS NOT NULL THEN %(run)s::bigint"
            " WHEN status = %(pending)s THEN run_id END"
            " WHERE id = ANY(%(ids)s)",
            {
                "pending": RecordStatus.PENDING,
                "reason": changes["pending_reason"],
                "trigger": str(changes["pending_trigger"]),
                "actor": actor.pk if actor is not None else None,
                "actor_label": changes["pending_actor_label"],
                "now": changes["updated_at"],
                "run": run.pk if run is not None else None,
                "ids": IdArray(ids),
            },
        )


def _insert_run_items(run: SyncRun, record_ids: list[int]) -> None:
    insert_values(
        SyncRunItem,
        [{"run_id": run.pk, "record_id": pk} for pk in record_ids],
        ignore_conflicts=True,
    )


def waiting_for_failed_bill() -> Q:
    """Payments waiting for their failed bill entry (outcomes._wait_for_bill), as a filter of
    SyncRecord querysets: not sent again while it fails (the bill's next push takes them
    along); once it no longer fails, the sweep sends any left behind."""
    failed_bill = SyncRecord.objects.filter(
        connection_id=OuterRef("connection_id"),
        document_id=OuterRef("document_id"),
        payment__isnull=True,
        status=RecordStatus.FAILED,
    )
    return Q(pending_reason=WAITS_FOR_BILL) & Exists(failed_bill)


def bulk_batch_size(provider: str) -> int:
    """As many as the ledger takes in one batch request, at most SYNC_BATCH_SIZE."""
    return min(settings.SYNC_BATCH_SIZE, _provider_caps(provider).batch_size)


def sync_records_enqueue(record_ids: list[int], *, trigger: str, countdown: float = 0) -> None:
    """Send the records' tasks to the queue of their trigger, after the current transaction.

    Sends at once: a bulk run's records go through sync_records_enqueue_paced instead, and come
    here only when they are sent again (a wait for quota, a retry) while still in flight."""
    if not record_ids:
        return

    def send():
        from synclog.tasks import sync_batch, sync_record

        queue = QUEUE_FOR_TRIGGER.get(trigger, "sync")
        records = SyncRecord.objects.filter(pk__in=record_ids)
        records.update(enqueued_at=timezone.now())
        if trigger in BATCHED_TRIGGERS:
            # Bulk work goes in batches per connection (see sync_batch_push); a batch of one
            # too, so that its end tops its connection up (connection_bulk_top_up).
            by_connection: dict[tuple[int, str], list[tuple[int, int]]] = {}
            for pk, connection_id, provider, document_id in records.order_by(
                "document_id", "pk"
            ).values_list("pk", "connection_id", "connection__provider", "document_id"):
                by_connection.setdefault((connection_id, provider), []).append((pk, document_id))
            messages, countdowns = [], []
            connections = Connection.objects.in_bulk({pk for pk, _ in by_connection})
            for (connection_id, provider), rows in by_connection.items():
                batches = _batches_by_document(rows, bulk_batch_size(provider))
                messages += [(sync_batch, sorted(batch)) for batch in batches]
                # Sent again after a wait for quota: the next turn of the paced line.
                countdowns += bulk_batch_countdowns(
                    connection=connections[connection_id],
                    batches=len(batches),
                    not_before=countdown,
                )
            _send(messages, queue=queue, countdowns=countdowns)
            return
        messages = [(sync_record, record_id) for record_id in record_ids]
        _send(messages, queue=queue, countdown=countdown)

    transaction.on_commit(send)


def _send(
    messages: list[tuple],
    *,
    queue: str,
    countdown: float = 0,
    countdowns: list[float] | None = None,
) -> None:
    """Send (task, argument) messages, after `countdown` seconds or each after its own."""
    for index, (task, argument) in enumerate(messages):
        wait = countdowns[index] if countdowns else countdown
        try:
            task.apply_async(args=[argument], countdown=wait, queue=queue)
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


# Bulk work is paced into the broker per connection (issue 13, item 5): a connection has at most
# SYNC_BULK_BATCHES_IN_FLIGHT batches sent and not finished; the rest of its backlog waits here,
# Pending with no enqueued_at, and goes a batch at a time as its batches end. The bulk queue is
# FIFO, so it then serves the connections in turn: no organisation waits behind another's
# backlog, also where several share one quota (an app-wide one: each gets its turn at it).
# A record counts as in flight from its send until it is no longer Pending; the sweep makes one
# whose task was lost (lease run out, too old) wait again and tops every connection up.

# The advisory lock namespace that makes one connection's top-ups take turns (two batches
# ending at once would otherwise both see the same free slot and send the same records).
_TOP_UP_LOCK = 0x7061_6365  # "pace"

# A connection's bulk records in the line (Pending, of a batched trigger, not waiting for their
# failed bill: see waiting_for_failed_bill), read once: the documents in flight (sent, not ended)
# give the free batches, and the first documents ready to go fill them, marked sent in the same
# statement. One statement instead of four ORM queries (their compilation was most of a top-up's
# CPU, and a top-up runs after every batch); the connection's Pending records are read once.
_TOP_UP_SQL = """
WITH paced AS (
    SELECT record.id, record.document_id, record.enqueued_at,
           record.enqueued_at IS NULL AND record.claimed_until IS NULL
           AND (record.next_retry_at IS NULL OR record.next_retry_at <= %(now)s) AS ready
    FROM synclog_syncrecord AS record
    WHERE record.connection_id = %(connection)s
      AND record.status = %(pending)s
      AND record.pending_trigger = ANY(%(triggers)s)
      AND NOT (
          record.pending_reason = %(waits_for_bill)s
          AND EXISTS (
              SELECT 1 FROM synclog_syncrecord AS bill
              WHERE bill.connection_id = record.connection_id
                AND bill.document_id = record.document_id
                AND bill.payment_id IS NULL
                AND bill.status = %(failed)s
          )
      )
), documents AS (
    SELECT DISTINCT document_id FROM paced WHERE ready
    ORDER BY document_id
    LIMIT greatest(0, %(in_flight)s - (
        SELECT (count(DISTINCT document_id) + %(size)s - 1) / %(size)s FROM paced
        WHERE enqueued_at IS NOT NULL
    )) * %(size)s
)
UPDATE synclog_syncrecord AS record SET enqueued_at = %(now)s
FROM paced
WHERE record.id = paced.id
  AND paced.ready
  -- The documents are the first ready ones: their records are the ready ones up to the last.
  -- A comparison, not a join: PostgreSQL estimates a just-marked backlog at a row, and joined
  -- it scanned every Pending record once per document (bf740e3).
  AND paced.document_id <= (SELECT max(document_id) FROM documents)
RETURNING record.id, record.document_id
"""


def sync_records_enqueue_paced(record_ids: list[int], *, trigger: str) -> None:
    """Send a run's records: bulk ones wait for their connection's turn (the next batches go
    now if it has room), others go at once."""
    if not record_ids:
        return
    if trigger not in BATCHED_TRIGGERS:
        sync_records_enqueue(record_ids, trigger=trigger)
        return
    with db_connection.cursor() as cursor:
        cursor.execute(
            "UPDATE synclog_syncrecord SET enqueued_at = NULL WHERE id = ANY(%s)"
            " RETURNING connection_id",
            [IdArray(record_ids)],
        )
        connection_ids = sorted({connection_id for (connection_id,) in cursor.fetchall()})

    def top_up():
        for connection_id in connection_ids:
            connection_bulk_top_up(connection_id=connection_id)

    transaction.on_commit(top_up)


def connection_bulk_top_up(*, connection_id: int) -> int:
    """Send the connection's next bulk batches until SYNC_BULK_BATCHES_IN_FLIGHT of them are
    in the broker: by document (a document's bill and payments in one batch), in
    id order. Called when a run starts, when one of its batches ends, and by the sweep; returns
    how many records it sent."""
    with transaction.atomic():
        with db_connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_TOP_UP_LOCK, connection_id])
        active = select_instances(
            Connection,
            f"SELECT {columns(Connection, 'connection')} FROM integrations_connection AS connection"
            " WHERE connection.id = %s AND connection.status = %s",
            [connection_id, str(ConnectionStatus.ACTIVE)],
        )
        if not active:
            return 0  # a connection that needs a reconnect: connection_resume sends its records
        connection = active[0]
        size = bulk_batch_size(connection.provider)
        with db_connection.cursor() as cursor:
            cursor.execute(
                _TOP_UP_SQL,
                {
                    "connection": connection_id,
                    "pending": RecordStatus.PENDING,
                    "failed": RecordStatus.FAILED,
                    "triggers": sorted(str(trigger) for trigger in BATCHED_TRIGGERS),
                    "waits_for_bill": WAITS_FOR_BILL,
                    "in_flight": settings.SYNC_BULK_BATCHES_IN_FLIGHT,
                    "size": size,
                    "now": timezone.now(),
                },
            )
            rows = sorted(cursor.fetchall(), key=lambda row: (row[1], row[0]))
        if not rows:
            return 0
        batches = _batches_by_document(rows, size)

        def send():
            from synclog.tasks import sync_batch

            countdowns = bulk_batch_countdowns(connection=connection, batches=len(batches))
            _send(
                [(sync_batch, batch) for batch in batches],
                queue=QUEUE_FOR_TRIGGER[Trigger.BULK],
                countdowns=countdowns,
            )

        transaction.on_commit(send)
    return sum(len(batch) for batch in batches)


def sync_batch_ended(*, record_ids: list[int]) -> int:
    """A bulk batch's task ended (pushed, or sent back to wait): its connection's next batch
    goes if a slot is free. Returns how many records went."""
    if not record_ids:
        return 0
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT connection_id FROM synclog_syncrecord WHERE id = %s", record_ids[:1])
        row = cursor.fetchone()
    connection_id = row[0] if row else None
    return connection_bulk_top_up(connection_id=connection_id) if connection_id else 0


def _batches_by_document(rows: list[tuple[int, int]], size: int) -> list[list[int]]:
    """Record ids in batches of `size` documents, each document's records together: a batch's
    bills go to the ledger in one call and their payments after them, in calls of `size`
    (Xero takes 50 invoices, or 50 payments, a call). Counted in records instead, a batch of paid
    bills held a third of the bills a call takes and their payments in another call; a
    document's payments whose bill went in the batch before could not go with theirs. `rows`:
    (record id, document id) ordered by document."""
    batches: list[list[int]] = []
    current: list[int] = []
    documents = 0
    for _, group in itertools.groupby(rows, key=lambda row: row[1]):
        if documents == size:
            batches.append(current)
            current, documents = [], 0
        current += [pk for pk, _ in group]
        documents += 1
    if current:
        batches.append(current)
    return batches


def request_sync(
    *,
    document: Document,
    reason: str,
    trigger: str = Trigger.AUTO,
    actor=None,
    actor_label: str = "",
    entry: bool = True,
    payments: Iterable[Payment] = (),
) -> list[int]:
    """Called by the document services in their transaction: the ledger must learn of a change
    made by `actor` (a user), or by `actor_label` (an API key) when there is no user.

    Drafts and documents awaiting approval never sync; a document that was never pushed and is
    now void has nothing to push.
    """
    if not document_syncs(document):
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
            connection=connection,
            specs=specs,
            reason=reason,
            trigger=trigger,
            actor=actor,
            actor_label=actor_label,
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
    *, org: Organization, documents: list[Document], reason: str, actor=None, actor_label: str = ""
) -> list[int]:
    """request_sync for many newly approved documents at once (an expense dataset of an
    organisation that syncs on push): the same records and tasks, in a fixed number of queries."""
    specs = [
        spec
        for document in documents
        if document_syncs(document)
        for spec in _entry_specs(document.pk, document.kind, entry=True, payment_ids=())
    ]
    record_ids = []
    for connection in Connection.objects.for_org(org).filter(status__in=COLLECTING_STATUSES):
        record_ids += _mark_pending(
            connection=connection,
            specs=specs,
            reason=reason,
            trigger=Trigger.AUTO,
            actor=actor,
            actor_label=actor_label,
        )
    sync_records_enqueue(record_ids, trigger=Trigger.AUTO)
    return record_ids


def request_sync_for_update(
    *, document: Document, changed_fields: Iterable[str], actor, actor_label: str = ""
) -> None:
    """After an edit: a sync of the document when a field the ledger holds changed; nothing
    for fields it does not hold (UNSYNCED_FIELDS)."""
    synced = set(changed_fields) - UNSYNCED_FIELDS
    if synced:
        request_sync(
            document=document,
            reason=reason_for_changes(synced),
            actor=actor,
            actor_label=actor_label,
        )
