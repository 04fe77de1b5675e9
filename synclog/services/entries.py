"""What one push sends: the entry's payload, the search before a create, the create or update
itself, its attachments, and a payment on its bill's entry."""

import dataclasses
import hashlib
import json
import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone

from documents.models import Document, DocumentStatus
from integrations.connectors.base import Connector
from integrations.connectors.differences import entry_differences
from integrations.connectors.errors import (
    ConnectorError,
    DataProcessingError,
    LedgerValidationError,
    NotFoundError,
    PermanentError,
    UnknownOutcomeError,
)
from integrations.connectors.types import EntryKind, EntryPayload, EntryState
from integrations.models import Connection
from integrations.payloads import (
    ENTRY_KIND_FOR_KIND,
    build_entry_payload,
    build_payment_payload,
)
from synclog.models import Operation, RecordStatus, SyncRecord, Trigger
from synclog.rules import ENTRY_TYPE_FOR_KIND
from synclog.services import marking
from synclog.services.attempt_log import _AttemptLog, _save_answer, plain_data
from synclog.services.ledger_call import _PushLater
from synclog.services.marking import EntrySpec, _mark_pending
from synclog.services.outcomes import _PushResult, _set_error
from synclog.services.quota import _caps
from synclog.services.refusals import (
    GONE_WORDS,
    _booked_differences_error,
    _duplicate_error,
    _gone_error,
)
from syncsvc.database import IdArray

logger = logging.getLogger(__name__)

# What building a record's entry payload reads with the record, in its query: its connection,
# its document and the document's organisation, contact, category and department.
PAYLOAD_RELATED = (
    "connection",
    "document",
    "document__org",
    "document__contact",
    "document__category",
    "document__department",
)


def _build_payload(
    document: Document, *, connection: Connection, mappings, lines=None
) -> EntryPayload:
    """The entry as the ledger should hold it, checked before anything is sent. A document
    that cannot be built (a value the payload cannot take, no line to book) is our own data
    processing error (5120), named on its record, instead of a crashed task."""
    try:
        payload = build_entry_payload(
            document, connection=connection, mappings=mappings, lines=lines
        )
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


def payload_hash(payload) -> str:
    """The SHA-256 of an entry's payload, stored with the record: an unchanged document
    hashes the same, so that a re-sync pushes nothing."""
    data = json.dumps(plain_data(payload), sort_keys=True, default=str)
    return hashlib.sha256(data.encode()).hexdigest()


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
    # The other connections first: joined to them in one statement, PostgreSQL read every
    # record of this connection (the only one to that ledger, then excluded) for each batch,
    # 0.5 s a batch at 100,000 records. Raw statements: a batch asks this for every first push,
    # and the querysets' compilation cost more than the queries.
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM integrations_connection WHERE org_id = %s AND provider = %s"
            " AND tenant_id = %s AND id <> %s",
            [connection.org_id, connection.provider, connection.tenant_id, connection.pk],
        )
        others = [pk for (pk,) in cursor.fetchall()]
        if not others:
            return set()
        cursor.execute(
            _LINKED_ELSEWHERE_SQL,
            {"connections": others, "documents": list({r.document_id for r in fresh})},
        )
        elsewhere = set(cursor.fetchall())
    return {r.pk for r in fresh if (r.document_id, r.entry_type) in elsewhere}


_LINKED_ELSEWHERE_SQL = """
SELECT document_id, entry_type FROM synclog_syncrecord
WHERE connection_id = ANY(%(connections)s)
  AND document_id = ANY(%(documents)s)
  AND payment_id IS NULL
  AND (unknown_outcome OR external_id <> '')
"""


def _reads_ledger_first(record: SyncRecord) -> bool:
    """A manual re-sync of a linked entry compares the document with what the ledger holds now,
    not with our last push: someone may have changed or voided the entry there (drift).
    Automatic pushes trust the payload hash (a read per edit would halve the quota)."""
    return (
        record.pending_trigger == Trigger.MANUAL
        and bool(record.external_id)
        and not record.is_payment
    )


def _creating(records: list[SyncRecord], create):
    """Send a create: until its answer is saved, the records say that its outcome is unknown
    (written before the call, so that a worker killed mid-call leaves them searching first).
    Any answer from the ledger is known: what it made is in the result, and an error means
    it made nothing; only a lost answer leaves them unknown."""
    fresh = [r for r in records if not r.unknown_outcome]
    if fresh:
        with db_connection.cursor() as cursor:
            cursor.execute(
                "UPDATE synclog_syncrecord SET unknown_outcome = true WHERE id = ANY(%s)",
                [IdArray(r.pk for r in fresh)],
            )
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
            operation = Operation.NOTHING_TO_PUSH
        else:
            try:
                state = connector.update_entry(
                    record.external_id, payload, idempotency_key=f"{key}-update"
                )
            except NotFoundError as error:
                # Deleted there since the last push (QuickBooks, MYOB): the words a re-sync's
                # read gives, not the catalogue's guess at the ledger's code (QuickBooks' 610
                # reads as an inactive account).
                ledger = record.connection.get_provider_display()
                raise _gone_error(
                    ledger, "DELETED", record.external_number, raw=error.raw
                ) from error
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
    if operation == Operation.NOTHING_TO_PUSH and uploaded:
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
        entry_date=payload.issue_date,  # re-dated out of a locked period, the date sent
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
        return state, Operation.NOTHING_TO_PUSH
    if state.booked:
        # Sending it would only be refused: say what differs and why it cannot change.
        raise _booked_differences_error(ledger, state, differences)
    state = connector.update_entry(record.external_id, payload, idempotency_key=f"{key}-update")
    return state, Operation.UPDATE


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


class _WaitsForBill(Exception):
    """A payment's bill entry failed: the payment waits with it (outcomes._wait_for_bill)."""

    def __init__(self, bill: SyncRecord):
        super().__init__(f"record {bill.pk} failed")
        self.bill = bill


def _payment_bill(record: SyncRecord) -> SyncRecord:
    """The bill entry a payment is pushed onto, when it is in the ledger; else the payment waits
    for it: Pending with the bill's next try (raises _PushLater; a bill never pushed is marked
    Pending first), or, when the bill failed, until the bill is pushed again (raises
    _WaitsForBill). The caller learns it before it takes any quota: a payment sent back for
    its bill makes no call, and never fails for it."""
    bill_type = ENTRY_TYPE_FOR_KIND[record.document.kind]
    bill = SyncRecord.objects.filter(
        connection=record.connection,
        document=record.document,
        entry_type=bill_type,
        payment__isnull=True,
    ).first()
    if bill is not None and bill.external_id:
        return bill
    if bill is not None and bill.status == RecordStatus.FAILED:
        raise _WaitsForBill(bill)
    if bill is not None and bill.status == RecordStatus.COMPLETE:
        ledger = record.connection.get_provider_display()
        if record.document.status == DocumentStatus.VOID:
            # Voided before its bill was ever pushed: nothing of it is in the ledger.
            raise LedgerValidationError(
                f"Its bill was voided before it reached {ledger}: there is no entry to pay.",
                explanation="A payment is pushed onto its bill's entry in the ledger; this "
                "bill was voided here before it was pushed, so it has none.",
                hint=f"If the payment was made, record it in {ledger} by hand, then mark it "
                "Complete in Sync History.",
            )
        # Reconciled by hand (marked Complete with no link to its entry): pushing the bill
        # again could double an entry typed in without our reference.
        raise LedgerValidationError(
            f"Its bill entry was marked Complete by hand, so ledgersync does not know which "
            f"{ledger} entry to pay.",
            explanation="A payment is pushed onto its bill's entry in the ledger; this bill was "
            "reconciled by hand, without a link to that entry.",
            hint=f"Record this payment in {ledger} by hand too, then mark it Complete in Sync "
            "History.",
        )
    # A payment is never pushed before its bill entry exists: push the bill first.
    if bill is None:
        with transaction.atomic():
            ids = _mark_pending(
                connection=record.connection,
                specs=[EntrySpec(record.document_id, bill_type)],
                reason="needed before its payment",
                trigger=record.pending_trigger,
                actor=record.pending_actor,
                actor_label=record.pending_actor_label,
            )
            marking.sync_records_enqueue(ids, trigger=record.pending_trigger)
    delay = settings.SYNC_BILL_FIRST_DELAY_SECONDS
    if bill is not None and bill.next_retry_at is not None:
        # The bill waits for its own retry: asking again before then would find it waiting.
        delay = max(delay, (bill.next_retry_at - timezone.now()).total_seconds())
    raise _PushLater(delay)


def _push_payment(
    record: SyncRecord, bill: SyncRecord, connector: Connector, log: _AttemptLog, *, paid_on=None
) -> _PushResult:
    """Create the payment on its bill's entry (`bill`, from _payment_bill), or link the one an
    earlier push made whose answer was lost. `paid_on`: the date to send instead of the
    payment's (re-dated out of a locked period)."""
    payload = build_payment_payload(
        record.payment, connection=record.connection, entry_external_id=bill.external_id
    )
    if paid_on is not None:
        payload = dataclasses.replace(payload, paid_on=paid_on)
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
                    payload,
                    idempotency_key=f"ls-{record.pk}-payment-{bill.external_id}"
                    f"{replaced_payment_key(record)}",
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


def replaced_payment_key(record: SyncRecord) -> str:
    """What a payment's idempotency key adds when it replaces one deleted in the ledger: the
    deleted payment's id, so that the ledger makes a new payment instead of answering with the
    deleted one again (each deletion is of another id, so each replacement is keyed apart)."""
    return f"-after-{record.external_id}" if record.payment_deleted_in_ledger else ""


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
        # The bill's entry is of the payment's own document.
        kind = ENTRY_KIND_FOR_KIND[record.document.kind]
        state = connector.get_entry(kind=kind, external_id=bill.external_id)
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
