"""The push of one record: claim it with a lease (no transaction is held across HTTP), build its
payload from the document as it is now, push it through the connection's connector, and write
the attempt, the record and the run together afterwards."""

import datetime
import time
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from integrations.connectors.errors import ConnectorError
from integrations.models import ConnectionStatus
from integrations.selectors import mapping_index
from integrations.services import connection_address_error
from synclog.models import (
    AttemptOutcome,
    Operation,
    RecordStatus,
    RunItemOutcome,
    SyncRecord,
    SyncRunItem,
)
from synclog.services.attempt_log import _AttemptLog
from synclog.services.entries import (
    PAYLOAD_RELATED,
    _build_payload,
    _linked_elsewhere,
    _payment_bill,
    _push_entry,
    _push_payment,
    _reads_ledger_first,
    _searches_first,
    _WaitsForBill,
    payload_hash,
)
from synclog.services.ledger_call import LedgerCall, _PushLater
from synclog.services.locks import lock_check, note_on_attempt, redated
from synclog.services.outcomes import (
    _Finish,
    _finish_records,
    _PushResult,
    _unchanged_result,
    _wait_for_bill,
    _wait_for_reauth,
)
from synclog.services.quota import _caps
from synclog.services.refusals import (
    _known_booked_refusal,
    _known_gone_refusal,
    _reconnect_error,
)

# What a push reads of a record with it: what its payload reads, and its payment.
PUSH_RELATED = (*PAYLOAD_RELATED, "payment")


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
    except _PushLater as later:
        return later.seconds
    finally:
        SyncRecord.objects.filter(pk=record_id, claimed_by=worker[:200]).update(
            claimed_by="", claimed_until=None
        )


def _push_claimed(record_id: int, worker: str) -> float | None:
    record = SyncRecord.objects.select_related(*PUSH_RELATED).get(pk=record_id)
    connection = record.connection
    if connection.status != ConnectionStatus.ACTIVE:
        # needs_reauth, disabled, disconnected: the record waits; reconnect or enable resumes it.
        if connection.status == ConnectionStatus.NEEDS_REAUTH and _in_open_run(record):
            # A sync waits for it: tell it why now (4220), not after the reconnect.
            log = _AttemptLog(started_at=timezone.now(), monotonic=time.monotonic())
            _wait_for_reauth(
                connection,
                [record],
                log,
                _reconnect_error(connection),
                mark_connection=False,
            )
        return None
    log = _AttemptLog(started_at=timezone.now(), monotonic=time.monotonic())
    address_error = connection_address_error(connection)
    if address_error is not None:  # e.g. an emulator address after emulators were switched off
        _fail(record, log, address_error)
        return None
    payload = digest = None
    gone = _known_gone_refusal(record)
    if gone is not None:  # before the payload: a missing mapping must not hide it
        _fail(record, log, gone)
        return None
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
    bill = None
    if record.is_payment and not record.payment_in_ledger:
        try:
            # Its bill must be in the ledger first: found out before any quota is taken.
            bill = _payment_bill(record)
        except _WaitsForBill as waiting:  # the bill failed: the payment waits with it
            return _wait_for_bill(record, waiting.bill, log)
        except ConnectorError as error:  # nothing was sent
            _fail(record, log, error)
            return None
    linked = _linked_elsewhere([record]) if payload is not None else set()
    expected = _expected_calls(record, payload, digest, linked)
    if expected == 0:
        # Nothing to send (an unchanged entry, a pushed payment): no quota, no connector.
        log.operation = Operation.NOTHING_TO_PUSH
        return _complete(record, log, _unchanged_result(record, digest))
    # Dated in the ledger's locked period: held (no call, no quota), or re-dated.
    lock = lock_check(record, payload)
    if lock is not None and lock.held is not None:
        held = _Finish(record, error=lock.held, attempt_outcome=AttemptOutcome.SKIPPED)
        _finish_records(log, [held])  # Failed, for Requires attention; the attempt sent nothing
        return None
    if lock is not None:
        note_on_attempt(record, lock)
        if payload is not None:
            payload = redated(payload, lock.redated_to)
    call = LedgerCall(connection, [record], log, calls=expected, alone=True)
    if not call.granted:
        raise _PushLater(call.quota_wait)
    result = None
    with call as connector:
        if record.is_payment:
            paid_on = lock.redated_to if lock is not None else None
            result = _push_payment(record, bill, connector, log, paid_on=paid_on)
        else:
            result = _push_entry(record, payload, digest, connector, log, linked=linked)
    if result is None:  # the ledger refused or did not answer: the call has ended the record
        return call.waits.get(record.pk)
    return _complete(record, log, result)


def _in_open_run(record: SyncRecord) -> bool:
    return SyncRunItem.objects.filter(record_id=record.pk, outcome=RunItemOutcome.PENDING).exists()


def _expected_calls(
    record: SyncRecord, payload, digest: str | None, linked: Iterable[int] = ()
) -> int:
    """The ledger calls this push will make (the quota it asks for); 0 when nothing is to send."""
    if record.is_payment:
        # Ledgers do not edit payments: one pushed once is done. After a lost answer, a look
        # on the bill comes first.
        if record.payment_in_ledger:
            return 0
        return 2 if record.unknown_outcome else 1
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


def _complete(record: SyncRecord, log: _AttemptLog, result: _PushResult) -> float | None:
    completed = _finish_records(log, [_Finish(record, result=result)])
    # Complete only if nothing changed while we pushed; otherwise the new version goes next.
    return None if completed else 0.0


def _fail(record: SyncRecord, log: _AttemptLog, error: ConnectorError) -> None:
    _finish_records(log, [_Finish(record, error=error)])
