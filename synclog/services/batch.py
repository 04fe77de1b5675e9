"""Pushing a batch of one connection's records (bulk, force, retry and API runs): new entries in
one create call, changed ones in one read and one update call, new payments in one call."""

import dataclasses
import hashlib
import time
import uuid

from django.db import connection as db_connection
from django.utils import timezone

from documents.models import DocumentStatus
from integrations.connectors.differences import entry_differences
from integrations.connectors.errors import ConnectorError
from integrations.connectors.types import BatchItemResult, CallRecord
from integrations.models import Connection, ConnectionStatus
from integrations.payloads import build_payment_payload
from integrations.services import connection_address_error
from synclog.models import Operation, SyncRecord
from synclog.ratelimit import get_rate_limiter
from synclog.rules import ENTRY_TYPE_FOR_KIND
from synclog.services.attempt_log import _AttemptLog, _save_answer
from synclog.services.claim import (
    _batch_connection,
    _batch_mappings,
    _claim_records,
    _document_lines,
)
from synclog.services.entries import (
    _build_payload,
    _creating,
    _linked_elsewhere,
    _payment_refusal,
    _searches_first,
    payload_hash,
    replaced_payment_key,
)
from synclog.services.ledger_call import LedgerCall, _PushLater
from synclog.services.locks import locked_on
from synclog.services.marking import bulk_batch_size
from synclog.services.outcomes import (
    _Finish,
    _finish_records,
    _PushResult,
    _state_result,
    _unchanged_result,
)
from synclog.services.push import _push_claimed
from synclog.services.quota import (
    _caps,
    _gives_way,
    _limits,
    _quota_key,
    _setup_requests,
)
from synclog.services.refusals import (
    _booked_differences_error,
    _duplicate_error,
    _gone_error,
    _known_gone_refusal,
)
from syncsvc.database import IdArray


def sync_batch_push(*, record_ids: list[int], worker: str) -> dict[int, float]:
    """Push several records of one connection; new entries go to the ledger in one batch call.

    A bulk run of N new bills then costs one create per batch instead of one per bill,
    which is what fits a month-end backlog under a ledger's quota (Xero: 60 calls a minute;
    QBO: 40 batch requests a minute). Changed entries are
    read together and updated together, new payments go together; voids, documents with
    attachments and payments whose earlier push lost its answer take the one-record path.
    Returns {record id: seconds} for the records to run again later.
    """
    connection = _batch_connection(record_ids[0]) if record_ids else None
    wait = _batch_quota_wait(connection)
    if wait:
        # No quota now: a batch refused after claiming and building its payloads would cost
        # that work again at every window (every waiting batch of a month end wakes together).
        return {pk: wait for pk in record_ids}
    token = f"{worker}:{uuid.uuid4().hex[:8]}"[:200]
    records = _claim_records(record_ids, token, connection)
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT document_id FROM documents_attachment WHERE document_id = ANY(%s)",
            [IdArray({record.document_id for record in records})],
        )
        with_attachments = {document_id for (document_id,) in cursor.fetchall()}
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
            if record.is_payment and not record.payment_in_ledger and not record.unknown_outcome
        ]
        # A payment whose bill here waits (no quota now) waits with it, and they come back in
        # one batch; alone it would only be sent back for its bill, at another time than it.
        bill_waits = {r.document_id: waits[r.pk] for r in together if r.pk in waits}
        for record in payments:
            if record.document_id in bill_waits:
                waits[record.pk] = bill_waits[record.document_id]
        payments = [record for record in payments if record.pk not in waits]
        if payments and payments[0].connection.status == ConnectionStatus.ACTIVE:
            alone_payments, payment_waits = _push_payments_together(payments)
            waits.update(payment_waits)
        else:
            alone_payments = payments
        done = {r.pk for r in together if r not in alone} | set(waits)
        done |= {r.pk for r in payments if r not in alone_payments}
        # Entries before payments (a bill made just now takes its payments after it; one that
        # failed has them wait for it).
        for record in sorted(records, key=lambda record: record.is_payment):
            if record.pk in done:
                continue
            try:
                wait = _push_claimed(record.pk, token)
            except _PushLater as later:
                wait = later.seconds
            if wait is not None:
                waits[record.pk] = wait
    finally:
        with db_connection.cursor() as cursor:
            cursor.execute(
                "UPDATE synclog_syncrecord SET claimed_by = '', claimed_until = NULL"
                " WHERE id = ANY(%s) AND claimed_by = %s",
                [IdArray(record_ids), token],
            )
    return waits


def _batch_quota_wait(connection: Connection | None) -> float:
    if connection is None or connection.status != ConnectionStatus.ACTIVE:
        return 0.0
    limits = _limits(connection)
    # A batch of first pushes is one request (a search first only after an unknown outcome).
    setup = _setup_requests(connection)
    calls = min(_caps(connection).batch_call_cost + setup, limits.per_window)
    return get_rate_limiter().wait_for(
        _quota_key(connection),
        limits,
        calls=calls,
        requests=1 + setup,
        gives_way=_gives_way(connection),
    )


def _push_entries_together(
    records: list[SyncRecord],
) -> tuple[list[SyncRecord], dict[int, float]]:
    """Unchanged entries end as no-ops, new ones are created in one call, changed ones read and
    updated together; returns the records left to the one-record path (voids, entries known
    booked) and {record id: seconds to wait}."""
    connection = records[0].connection
    log = _AttemptLog(started_at=timezone.now(), monotonic=time.monotonic())
    payloads, digests, unusable, unchanged, new, alone = {}, {}, [], [], [], []
    changed: list[SyncRecord] = []
    address_error = connection_address_error(connection)
    if address_error is not None:  # nothing goes out: every record fails with the reason
        _finish_records(
            log, [_Finish(r, error=address_error, operation=Operation.UNDECIDED) for r in records]
        )
        return [], {}
    lines = _document_lines(records)
    mappings = _batch_mappings(records, lines)
    for record in records:
        if _known_gone_refusal(record) is not None:
            # Voided or deleted in the ledger: the one-record path fails it again, unsent.
            alone.append(record)
            continue
        try:
            payloads[record.pk] = _build_payload(
                record.document,
                connection=connection,
                mappings=mappings,
                lines=lines.get(record.document_id, []),
            )
        except ConnectorError as error:  # a missing mapping: nothing was sent
            unusable.append(_Finish(record, error=error, operation=Operation.UNDECIDED))
            continue
        digests[record.pk] = payload_hash(payloads[record.pk])
        # Dated in the ledger's locked period: the one-record path holds or re-dates it.
        locked = locked_on(connection, payloads[record.pk].issue_date)
        if not record.external_id:
            (alone if locked else new).append(record)
        elif digests[record.pk] == record.payload_hash:
            unchanged.append(_Finish(record, result=_unchanged_result(record, digests[record.pk])))
        elif record.booked or payloads[record.pk].voided or locked:
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
    """Changed entries of a batch: one read of them all (one request for the batch), then one
    write of those the ledger does not hold as the document says already. An entry that
    matches costs no write (2040), one paid or voided there fails with the reason and no
    refused write, the others are updated together, each answered on its own."""
    connection = records[0].connection
    ledger = connection.get_provider_display()
    # One read of them all, then one batch request of updates.
    calls = 1 + _caps(connection).batch_call_cost
    call = LedgerCall(connection, records, log, calls=calls, requests=2, bulk=True)
    if not call.granted:
        return call.waits
    kind = payloads[records[0].pk].kind
    with call as connector:
        states = connector.get_entries(kind=kind, external_ids=[r.external_id for r in records])
        read = list(log.calls)  # what a record that ends on the read shows in its log
        to_update = []
        for record in records:
            payload, digest = payloads[record.pk], digests[record.pk]
            state = states.get(record.external_id)
            if state is None or state.gone:
                status = state.status if state is not None else "DELETED"
                error = _gone_error(ledger, status, record.external_number)
                call.finishes.append(
                    _Finish(record, error=error, operation=Operation.UNDECIDED, calls=read)
                )
                continue
            differences = entry_differences(payload, state)
            if not differences:
                result = _state_result(Operation.NOTHING_TO_PUSH, state, digest)
                call.finishes.append(_Finish(record, result=result, calls=read))
            elif state.booked:
                error = _booked_differences_error(ledger, state, differences)
                call.finishes.append(
                    _Finish(record, error=error, operation=Operation.UNDECIDED, calls=read)
                )
            else:
                to_update.append(record)
        if to_update:
            versions = [f"{record.pk}-v{record.version}" for record in to_update]
            results = connector.update_entries(
                [(record.external_id, payloads[record.pk]) for record in to_update],
                idempotency_key=_batch_key("ls-update-", versions),
            )
            log.operation = Operation.UPDATE
            _finish_items(call, to_update, results, Operation.UPDATE, digests)
    return call.waits


def _push_new_entries(
    records: list[SyncRecord], payloads: dict, digests: dict[int, str], log: _AttemptLog
) -> dict[int, float]:
    connection = records[0].connection
    linked = _linked_elsewhere(records)
    # One call for a batch of first pushes; a search first only for the records that need it.
    searching = [record for record in records if _searches_first(record, linked)]
    requests = 2 if searching else 1
    calls = (1 if searching else 0) + _caps(connection).batch_call_cost
    call = LedgerCall(connection, records, log, calls=calls, requests=requests, bulk=True)
    if not call.granted:
        return call.waits
    kind = payloads[records[0].pk].kind  # one kind a batch (_push_entries_together)
    with call as connector:
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
                call.finishes.append(_Finish(record, error=error, operation=Operation.UNDECIDED))
            elif states:
                # Made by an earlier attempt whose answer was lost: link it, never a second one.
                result = _state_result(Operation.LINK, states[0], digests[record.pk])
                call.finishes.append(_Finish(record, result=result))
            else:
                to_create.append(record)
        if to_create:
            versions = [f"{record.pk}-v{record.version}" for record in to_create]
            key = _batch_key("ls-batch-", versions)
            results = _creating(
                to_create,
                lambda: connector.create_entries(
                    [payloads[record.pk] for record in to_create], idempotency_key=key
                ),
            )
            log.operation = Operation.CREATE
            _finish_items(call, to_create, results, Operation.CREATE, digests)
    return call.waits


def _push_payments_together(
    records: list[SyncRecord],
) -> tuple[list[SyncRecord], dict[int, float]]:
    """New payments whose bill entry exists go to the ledger together (in calls of a batch's
    size), each answered on its own (a refused one fails alone, in its own document's log).
    Returns the records left to the one-record path (their bill is not in the ledger yet: it
    goes first there) and {record id: seconds to wait}."""
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
        if bill is None or not bill.external_id or locked_on(connection, record.payment.paid_at):
            alone.append(record)  # its bill goes first, or it is held or re-dated there
            continue
        try:
            payloads[record.pk] = build_payment_payload(
                record.payment,
                connection=connection,
                entry_external_id=bill.external_id,
            )
        except ConnectorError as error:  # no payment account: nothing was sent
            unusable.append(_Finish(record, error=error, operation=Operation.UNDECIDED))
            continue
        ready.append(record)
    _finish_records(log, unusable)
    waits: dict[int, float] = {}
    # A batch holds its documents' payments (a few per bill): a call takes at most a batch's
    # size of them (Xero: 50), each call with its own log.
    size = bulk_batch_size(connection.provider)
    for start in range(0, len(ready), size):
        chunk_log = _AttemptLog(started_at=timezone.now(), monotonic=time.monotonic())
        waits.update(_create_payments(ready[start : start + size], payloads, bills, chunk_log))
    return alone, waits


def _create_payments(
    ready: list[SyncRecord], payloads: dict, bills: dict[int, SyncRecord], log: _AttemptLog
) -> dict[int, float]:
    """One call creating these payments (their bills' entries exist); returns {record id:
    seconds to wait}."""
    connection = ready[0].connection
    call = LedgerCall(
        connection, ready, log, calls=_caps(connection).batch_call_cost, requests=1, bulk=True
    )
    if not call.granted:
        return call.waits
    # Keyed by the bill entries too, as one payment alone is (see _push_payment).
    key = _batch_key(
        "ls-payments-",
        [f"{r.pk}-{bills[r.document_id].external_id}{replaced_payment_key(r)}" for r in ready],
    )
    with call as connector:
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
                call.finishes.append(_Finish(record, error=error, calls=calls))
                continue
            pushed = _PushResult(
                operation=Operation.CREATE,
                external_id=result.state.external_id,
                amount=result.state.amount,
                booked=True,
                payload_hash=payload_hash(payloads[record.pk]),
            )
            call.finishes.append(_Finish(record, result=pushed, calls=calls))
            paid_bills.append(bills[record.document_id].pk)
        if paid_bills and _caps(connection).paid_entry_is_booked:
            # A bill with a payment is booked in the ledger: it takes no edit any more.
            _save_answer(
                log,
                lambda: SyncRecord.objects.filter(pk__in=paid_bills).update(booked=True),
            )
    return call.waits


def _batch_key(prefix: str, parts: list[str]) -> str:
    """A batch request's idempotency key: the same records at the same versions, the same key."""
    return prefix + hashlib.sha256(",".join(parts).encode()).hexdigest()[:40]


def _finish_items(
    call: LedgerCall, records: list[SyncRecord], results, operation: str, digests: dict[int, str]
) -> None:
    """Each record of a batch request ends with its own item of the answer."""
    for record, result in zip(records, results, strict=True):
        calls = _own_calls(call.log.calls, result)
        if result.error is not None:
            call.finishes.append(_Finish(record, error=result.error, calls=calls))
        else:
            state = _state_result(operation, result.state, digests[record.pk])
            call.finishes.append(_Finish(record, result=state, calls=calls))


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
