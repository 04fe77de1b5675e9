"""How pushed records end: Complete with the ledger's facts, Failed with the error, Pending for a
retry later, or waiting for a reconnect; with their attempts and run items, in one transaction."""

import datetime
import logging
import random
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone

from integrations.connectors.errors import (
    AuthError,
    ConnectorError,
    PeriodLockedError,
    TransientError,
    UnknownOutcomeError,
)
from integrations.connectors.types import CallRecord, EntryState
from integrations.models import Connection
from integrations.services import connection_mark_needs_reauth
from synclog.models import (
    WAITS_FOR_BILL,
    AttemptOutcome,
    Operation,
    RecordStatus,
    RunItemOutcome,
    StatusCode,
    SyncRecord,
)
from synclog.services.attempt_log import (
    _attempt_values,
    _AttemptLog,
    _insert_attempt_values,
    _save_answer,
    _write_attempt,
)
from synclog.services.refusals import _reconnect_error
from synclog.services.rows import update_rows
from synclog.services.run_items import _finish_run_items
from syncsvc.database import IdArray
from syncsvc.outages import ALREADY_SAVED
from webhooks.services import webhook_emit_records_failed

logger = logging.getLogger(__name__)


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
    # The entry's date as sent (a re-dated push's own); else the ledger's answer or the
    # document says it.
    entry_date: datetime.date | None = None


def _entry_date(record: SyncRecord, result: "_PushResult") -> datetime.date | None:
    """The date the ledger's entry carries after this push (see SyncRecord.synced_entry_date)."""
    if result.entry_date is not None:
        return result.entry_date
    if result.state is not None and result.state.issue_date is not None:
        return result.state.issue_date
    return record.document.issue_date


def _unchanged_result(record: SyncRecord, digest: str | None) -> "_PushResult":
    return _PushResult(
        operation=Operation.NOTHING_TO_PUSH,
        external_id=record.external_id,
        number=record.external_number,
        amount=record.synced_amount,
        booked=record.booked,
        payload_hash=digest or record.payload_hash,
    )


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


@dataclass
class _Finish:
    """How one pushed record ends: with a result (success) or an error (Failed)."""

    record: SyncRecord
    result: _PushResult | None = None
    error: ConnectorError | None = None
    attempt_outcome: str = AttemptOutcome.FAILED  # of a failure: Unknown when the answer was lost
    operation: str | None = None  # the attempt's operation, if not the result's or the log's
    calls: list[CallRecord] | None = None  # the calls to log, if not all of the log's


# Written on every record that ends Complete, whatever its entry.
_CLEARED_ON_SUCCESS = {
    "unknown_outcome": False,
    "payment_deleted_in_ledger": False,
    "attempt_count": 0,
    "next_retry_at": None,
    "last_error_code": None,
    "last_error_message": "",
    "last_error_explanation": "",
    "last_error_hint": "",
}


_ENTRY_FACTS = ["external_id", "external_number", "synced_amount", "synced_at", "synced_entry_date"]


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
        with db_connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, version FROM synclog_syncrecord WHERE id = ANY(%s)"
                " ORDER BY id FOR UPDATE",
                [IdArray(finish.record.pk for finish in finishes)],
            )
            versions = dict(cursor.fetchall())
        current = [f for f in finishes if versions.get(f.record.pk) == f.record.version]
        succeeded = [f for f in finishes if f.error is None]
        failed = [f for f in current if f.error is not None]
        attempts = []
        item_outcomes: dict[int, tuple[str, int]] = {}
        completed = {f.record.pk for f in current if f.error is None}
        _save_entry_facts(succeeded, completed, now)
        for finish in succeeded:
            nothing_to_push = finish.result.operation == Operation.NOTHING_TO_PUSH
            code = StatusCode.NOTHING_TO_PUSH if nothing_to_push else StatusCode.SUCCESS
            attempts.append(
                _attempt_values(
                    finish.record,
                    log,
                    AttemptOutcome.SUCCESS,
                    code,
                    operation=finish.operation or finish.result.operation,
                    calls=finish.calls,
                    finished=now,
                )
            )
            if finish.record.pk in completed:
                outcome = (
                    RunItemOutcome.NOTHING_TO_PUSH if nothing_to_push else RunItemOutcome.PUSHED
                )
                item_outcomes[finish.record.pk] = (outcome, code)
        for finish in finishes:
            if finish.error is not None:
                attempts.append(
                    _attempt_values(
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
                    RunItemOutcome.FAILED,
                    finish.error.status_code,
                )
            _update_rows(
                [f.record for f in failed], [*_ERROR_FIELDS, "unknown_outcome", *_CLAIM_FIELDS]
            )
        _insert_attempt_values(attempts)
        _finish_run_items(item_outcomes, now=now)
        webhook_emit_records_failed(records=[finish.record for finish in failed])
        _read_lock_date_after_refusal(failed)
    return completed


def _read_lock_date_after_refusal(failed: list[_Finish]) -> None:
    """The ledger refused a write for its locked period: it knows a newer lock date than ours.
    Read it again (after the commit); the refused records are held then, with its date."""
    refused = [f.record for f in failed if isinstance(f.error, PeriodLockedError)]
    if refused:
        connection_id, ids = refused[0].connection_id, [record.pk for record in refused]
        transaction.on_commit(lambda: _send_lock_date_refresh(connection_id, ids))


def _send_lock_date_refresh(connection_id: int, record_ids: list[int]) -> None:
    from integrations.tasks import connection_lock_date_refresh

    try:
        connection_lock_date_refresh.delay(connection_id, record_ids)
    except Exception:  # the broker is down: beat reads the lock date again later
        logger.warning("Broker unavailable: lock date of connection %s not read", connection_id)


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
            if not record.is_payment:
                record.synced_entry_date = _entry_date(record, result)
        if record.pk in completed:
            record.status = RecordStatus.COMPLETE
        _release(record)
        groups.setdefault((bool(result.external_id), record.pk in completed), []).append(record)
    for (with_entry, complete), records in groups.items():
        # `booked` only where the push learnt it: a payment pushed meanwhile may have set it;
        # the status only of records still at the version pushed.
        fields = ["payload_hash", *_CLEARED_ON_SUCCESS, "updated_at", *_CLAIM_FIELDS]
        # What every record of the group was given above, sent once.
        same = {**_CLEARED_ON_SUCCESS, "updated_at": now, "claimed_by": "", "claimed_until": None}
        if with_entry:
            fields += [*_ENTRY_FACTS, "booked"]
            same["synced_at"] = now
        if complete:
            fields.append("status")
            same["status"] = RecordStatus.COMPLETE
        update_rows(records, fields, same=same)


def _release(record: SyncRecord) -> None:
    record.claimed_by = ""
    record.claimed_until = None


def _update_rows(records: list[SyncRecord], fields: list[str]) -> None:
    """Save these fields of each record in one statement (see rows.update_rows)."""
    update_rows(records, fields)


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
    outcome = AttemptOutcome.UNKNOWN if unknown else AttemptOutcome.FAILED
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
    outcome = AttemptOutcome.FAILED if mark_connection else AttemptOutcome.SKIPPED
    # 4220 de-authorised, or 4040 when the organisation itself is gone from the ledger.
    code = error.status_code

    def write():
        with transaction.atomic():
            if mark_connection:
                connection_mark_needs_reauth(connection=connection, error=error)
            for record in records:
                _set_error(record, error, status=RecordStatus.PENDING)
                _write_attempt(record, log, outcome, code, error=error)
            _finish_run_items({record.pk: (RunItemOutcome.FAILED, code) for record in records})

    if records:
        _save_answer(log, write, attempt_of=records[0].pk)


def _wait_for_bill(record: SyncRecord, bill: SyncRecord, log: _AttemptLog) -> float | None:
    """The payment's bill entry failed: the payment waits for it Pending, not Failed (it is
    never pushed before its bill, and nothing of its own went wrong). It says why, in its log
    once (Skipped: nothing was sent); the syncs waiting for it count it failed with the bill's
    code, so that they end; the bill's next push takes it along, right after the bill
    (marking._mark_pending). Returns when to look again: None once it waits, soon when the
    bill was sent again meanwhile or the payment changed."""
    ledger = record.connection.get_provider_display()
    error = ConnectorError(
        f"Waits for its bill entry, which failed: {bill.last_error_message}",
        explanation=f"A payment is pushed only once its bill is in {ledger}; nothing was sent.",
        hint="Fix the bill entry's error and retry it: this payment follows it, in the same run.",
    )
    error.status_code = bill.last_error_code or StatusCode.DATA_PUSH

    def write() -> float | None:
        with transaction.atomic():
            # The bill's row first: a push of it marked Pending meanwhile either comes before
            # (we see it and look again) or after, and then finds this payment waiting.
            failed = SyncRecord.objects.select_for_update().filter(
                pk=bill.pk, status=RecordStatus.FAILED
            )
            if not list(failed.values_list("pk", flat=True)):
                return settings.SYNC_BILL_FIRST_DELAY_SECONDS
            waited = record.pending_reason == WAITS_FOR_BILL
            waits = SyncRecord.objects.filter(
                pk=record.pk, version=record.version, status=RecordStatus.PENDING
            ).update(
                pending_reason=WAITS_FOR_BILL,
                last_error_code=error.status_code,
                last_error_message=error.message[:2000],
                last_error_explanation=error.explanation,
                last_error_hint=error.hint,
                attempt_count=0,
                next_retry_at=None,
                # Not in flight: the sweep and the bulk top-up leave it be while its bill fails.
                enqueued_at=None,
                updated_at=timezone.now(),
            )
            if not waits:
                return 0.0  # changed while we looked: its new version goes now
            if not waited:
                _write_attempt(record, log, AttemptOutcome.SKIPPED, error.status_code, error=error)
            _finish_run_items({record.pk: (RunItemOutcome.FAILED, error.status_code)})
            return None

    return _save_answer(log, write)
