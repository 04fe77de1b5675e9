"""What a reconcile finds (synclog.services.reconcile): our Complete records matched to the
entries the ledger listed, the drift of each in words AP staff act on, and the findings written
at once: each drifted record Failed with its attempt, in a fixed number of statements.
"""

import datetime
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Max, Q, Sum
from django.utils import timezone

from integrations.connectors.differences import entry_differences
from integrations.connectors.errors import (
    ConnectorError,
    PermanentError,
)
from integrations.connectors.types import CallRecord, ChangedEntry, EntryState, PaymentState
from integrations.models import Connection
from integrations.selectors import mapping_index
from synclog.models import (
    AttemptOutcome,
    Operation,
    RecordStatus,
    StatusCode,
    SyncAttempt,
    SyncRecord,
    Trigger,
)
from synclog.selectors.marks import last_marks_complete, marked_since_push
from synclog.services.attempt_log import _AttemptLog, _insert_attempts, plain_data
from synclog.services.claim import _document_lines
from synclog.services.entries import PAYLOAD_RELATED, _build_payload, payload_hash
from synclog.services.refusals import _gone_error
from synclog.services.rows import update_rows
from webhooks.services import webhook_emit_records_failed

logger = logging.getLogger(__name__)


# Records matched to the changes this many at a time.
MATCH_CHUNK = 500


class LedgerDriftError(PermanentError):
    """An entry changed in the ledger behind our back (found by the reconcile). Status code
    5130: the ledger holds something else than what we pushed."""


def _changed_error(ledger: str, state: EntryState, differences: list[str]) -> LedgerDriftError:
    entry = f"entry {state.number}" if state.number else "entry"
    # Booked: fully paid or closed there, or (Xero) partly paid while still AUTHORISED, which
    # a clerk would not read as closed from the status word alone.
    held_as = (
        f"with {state.amount_paid} paid against it"
        if state.amount_paid and state.amount_due
        else f"as {state.status}"
    )
    booked = (
        f" {ledger} holds it {held_as} now, so it takes no change: pushing ours again "
        f"needs the payment removed in {ledger} first."
        if state.booked
        else ""
    )
    return LedgerDriftError(
        f"Changed in {ledger} since ledgersync pushed it",
        explanation=f"Someone changed the {entry} in {ledger} after ledgersync pushed it: "
        + "; ".join(differences)
        + "."
        + booked,
        hint=f"To put this document's version back in {ledger}, push ours again (Re-sync on "
        f"the document shows what it will change). If {ledger}'s version is right, accept "
        f"{ledger}'s on the document's Integrations tab, and correct the document here to "
        "match so that its next push keeps it.",
    )


def _paid_error(ledger: str, state: EntryState, ours: Decimal) -> LedgerDriftError:
    entry = f"entry {state.number}" if state.number else "entry"
    return LedgerDriftError(
        f"Paid in {ledger} outside ledgersync",
        explanation=f"{ledger} records {state.amount_paid} paid on the {entry}; the payments "
        f"ledgersync pushed come to {ours}. The rest was paid in {ledger} directly, and this "
        "document does not show it.",
        hint=f"If the payment in {ledger} is right, record it on this document (mark it paid) "
        f"and accept {ledger}'s; if it is a mistake, remove it in {ledger}, then accept.",
    )


def _payment_deleted_error(ledger: str, record: SyncRecord) -> LedgerDriftError:
    # Named by what a person finds it by: a ledger gives a payment no number, so its amount,
    # date and the id the ledger gave it (the External reference the record shows).
    payment = record.payment
    return LedgerDriftError(
        f"Payment deleted in {ledger}",
        explanation=f"The payment of {payment.amount} {record.document.currency} on "
        f"{payment.paid_at:%Y-%m-%d} that ledgersync pushed (external reference "
        f"{record.external_reference}) was deleted in {ledger}: the entry owes that amount "
        "again there, while this document still shows it paid.",
        hint=f"If the payment stands, retry it (or Re-sync › Payment entry): ledgersync pushes "
        f"it to {ledger} as a new payment. If {ledger} is right, accept {ledger}'s and remove "
        "or correct the payment on this document.",
    )


def _payment_voided_error(ledger: str, record: SyncRecord) -> LedgerDriftError:
    # A voided payment stays in the ledger (QuickBooks keeps it at 0.00, "Voided" before its
    # note): named as a deleted one is, and fixed the same way, by a new payment.
    payment = record.payment
    return LedgerDriftError(
        f"Payment voided in {ledger}",
        explanation=f"The payment of {payment.amount} {record.document.currency} on "
        f"{payment.paid_at:%Y-%m-%d} that ledgersync pushed (external reference "
        f"{record.external_reference}) was voided in {ledger}: {ledger} now holds it at 0.00, "
        "marked Voided, and it no longer pays the entry there, which owes that amount again, "
        "while this document still shows it paid.",
        hint=f"If the payment stands, retry it (or Re-sync › Payment entry): ledgersync pushes "
        f"it to {ledger} as a new payment, since a voided one cannot be used again. If "
        f"{ledger} is right, accept {ledger}'s and remove or correct the payment on this "
        "document.",
    )


# What a payment removed in the ledger is found as (its PaymentState's status), and how a
# finding words it.
_PAYMENT_GONE_ERRORS = {"DELETED": _payment_deleted_error, "VOIDED": _payment_voided_error}


def _mark_drifted(
    connection: Connection,
    changes: tuple[ChangedEntry, ...],
    log: _AttemptLog,
    started: datetime.datetime,
    since: datetime.datetime,
) -> int:
    by_id = {change.state.external_id: change for change in changes}
    ids = sorted(by_id)
    ledger = connection.get_provider_display()
    mappings = None
    drifted = 0
    for start in range(0, len(ids), MATCH_CHUNK):
        chunk = ids[start : start + MATCH_CHUNK]
        # Complete, not claimed, and pushed before this read began: a push that ended since
        # may be newer than what the ledger answered.
        records = list(
            SyncRecord.objects.filter(
                connection=connection,
                status=RecordStatus.COMPLETE,
                payment__isnull=True,
                external_id__in=chunk,
                synced_at__lt=started,
            )
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=started))
            .select_related(*PAYLOAD_RELATED)
        )
        if not records:
            continue
        lines = _document_lines(records)  # one query for every document's lines
        record_ids = [record.pk for record in records]
        document_ids = [record.document_id for record in records]
        judged = _judgements(record_ids)
        marked = {pk: m.at for pk, m in last_marks_complete(record_ids=record_ids).items()}
        ours = _our_last_writes(connection, document_ids)
        paid = _pushed_payments(connection, document_ids)
        findings, baselines = [], []
        for record in records:
            change = by_id[record.external_id]
            state = change.state
            version = state.version or (state.updated_at.isoformat() if state.updated_at else "")
            judgement = judged.get(record.pk)
            if version and judgement and judgement.version == version:
                continue  # this version of the entry was found drifted already (and accepted)
            if mappings is None:
                mappings = mapping_index(connection=connection)
            error, differences, digest = _drift_of(
                record, state, ledger, mappings, paid, lines.get(record.document_id, [])
            )
            if error is None:
                continue
            detail = {"ledger_version": version, "differences": differences, "document": digest}
            baseline = _baseline(record, judgement, marked.get(record.pk), digest)
            if baseline == _JUDGED and sorted(differences) == sorted(judgement.differences):
                continue  # what was judged (and accepted) still holds: only its version moved
            if baseline == _MARKED and not _changed_there_since(
                state, marked[record.pk], ours.get(record.document_id)
            ):
                baselines.append((record, change, detail))
                continue
            findings.append((record, change, error, detail))
        drifted += _save_findings(findings, log, since)
        _save_baselines(baselines, log, ledger)
    return drifted


# What a Complete record's entry is judged against, besides the document as it is now (which
# is what the ledger holds when our push put it there):
_JUDGED = "judged"  # the differences a reconcile found since our last push (then accepted)
_MARKED = "marked"  # nothing known: marked Complete by hand since our last push


@dataclass(frozen=True)
class _Judgement:
    """A record's latest reconcile finding: the ledger's version it read, the differences from
    the document (and the document's payload hash) it found, and when."""

    version: str
    differences: list[str]
    document: str
    at: datetime.datetime


def _baseline(
    record: SyncRecord, judgement: "_Judgement | None", marked_at, digest: str
) -> str | None:
    """Where a Complete record's entry differs from the document, what it differed by when the
    ledger was last known right. A record pushed since its last judgement (or never judged)
    holds what we pushed: any difference is a drift (None). One marked Complete by hand since
    its last push holds what the person vouched for, which we never read: the differences the
    reconcile judged since, for the same document (_JUDGED: a drift found, then accepted), or
    else none known yet (_MARKED)."""
    if (
        judgement is not None
        and (record.synced_at is None or judgement.at > record.synced_at)
        and judgement.document == digest
    ):
        return _JUDGED
    if marked_since_push(pushed_at=record.synced_at, marked_at=marked_at):
        return _MARKED
    return None


def _changed_there_since(state: EntryState, marked_at, our_last_write) -> bool:
    """Whether someone else changed the entry in the ledger after it was marked Complete by
    hand: the ledger's time of its last change is later, and no write of ours (a payment on
    it) came since that would explain it. Without the ledger's time, the mark vouches for it."""
    if state.updated_at is None or state.updated_at <= marked_at:
        return False
    return our_last_write is None or our_last_write <= marked_at


def _mark_payments_gone(
    connection: Connection,
    changes: tuple[ChangedEntry, ...],
    log: _AttemptLog,
    started: datetime.datetime,
    since: datetime.datetime,
) -> int:
    """Our Complete payment records whose payment was deleted or voided in the ledger:
    drifted. Either way it no longer pays the entry there, and a push makes a new one."""
    gone = {
        change.state.external_id: change
        for change in changes
        if change.state.status.upper() in _PAYMENT_GONE_ERRORS
    }
    if not gone:
        return 0
    ledger = connection.get_provider_display()
    records = list(
        SyncRecord.objects.filter(
            connection=connection,
            status=RecordStatus.COMPLETE,
            payment__isnull=False,
            external_id__in=list(gone),
            synced_at__lt=started,
        )
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=started))
        .select_related("connection", "payment", "document")
    )
    judged = _versions_judged([record.pk for record in records])
    findings = []
    for record in records:
        change = gone[record.external_id]
        updated = change.state.updated_at
        version = updated.isoformat() if updated else ""
        if version and judged.get(record.pk) == version:
            continue
        status = change.state.status.upper()
        error = _PAYMENT_GONE_ERRORS[status](ledger, record)
        findings.append(
            (record, change, error, {"ledger_version": version, "differences": [status.lower()]})
        )
    return _save_findings(findings, log, since)


def _mark_missing_deleted(
    connection: Connection,
    listed: tuple[ChangedEntry, ...],
    log: _AttemptLog,
    started: datetime.datetime,
    since: datetime.datetime,
    *,
    payments: bool = False,
) -> int:
    """After a complete listing (a ledger that keeps no trace of a deleted entry, MYOB): our
    Complete entries (or, with `payments`, payments) missing from it were deleted there."""
    present = {change.state.external_id for change in listed}
    if not log.calls:
        return 0
    call = log.calls[-1]  # the listing's last page: what the ledger answered
    ledger = connection.get_provider_display()
    records = (
        SyncRecord.objects.filter(
            connection=connection,
            status=RecordStatus.COMPLETE,
            payment__isnull=not payments,
            synced_at__lt=started,
        )
        .exclude(external_id="")
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=started))
    )
    # Every Complete record of the connection is compared with the listing, as (id, entry id)
    # pairs: only the missing ones, few, are loaded whole.
    missing_ids = [
        pk
        for pk, external_id in records.values_list("pk", "external_id").iterator()
        if external_id not in present
    ]
    missing = list(
        SyncRecord.objects.filter(pk__in=missing_ids)
        .select_related("connection", "payment", "document")
        .order_by("pk")
    )
    judged = _versions_judged([record.pk for record in missing])
    findings = []
    for record in missing:
        if judged.get(record.pk) == MISSING_VERSION:
            continue  # found deleted already, and accepted
        if payments:
            state = PaymentState(
                external_id=record.external_id,
                entry_id="",
                amount=Decimal("0.00"),
                status="DELETED",
            )
            error = _payment_deleted_error(ledger, record)
        else:
            state = EntryState(
                external_id=record.external_id,
                number=record.external_number,
                status="DELETED",
                total=Decimal("0.00"),
                amount_due=Decimal("0.00"),
                amount_paid=Decimal("0.00"),
                booked=True,
                gone=True,
            )
            error = _gone_error(ledger, "DELETED", record.external_number)
        absent = CallRecord(
            method=call.method,
            url=call.url,
            http_status=call.http_status,
            duration_ms=0,
            response_body=f"{record.external_id} is not in {ledger}'s list of "
            f"{'payments' if payments else 'entries'}.",
        )
        change = ChangedEntry(kind=None, state=state, call=absent)
        detail = {"ledger_version": MISSING_VERSION, "differences": ["deleted"]}
        findings.append((record, change, error, detail))
    return _save_findings(findings, log, since)


# The version a finding of "missing from a complete listing" is remembered by.
MISSING_VERSION = "missing"


def _judgements(record_ids: list[int]) -> dict[int, _Judgement]:
    """Each record's latest reconcile finding (a drift, or the differences held as marked)."""
    rows = (
        SyncAttempt.objects.filter(record_id__in=record_ids, trigger=Trigger.RECONCILE)
        .order_by("record_id", "-started_at", "-id")
        .distinct("record_id")
        .values_list("record_id", "error_detail", "started_at")
    )
    judgements = {}
    for record_id, detail, at in rows:
        detail = detail or {}
        judgements[record_id] = _Judgement(
            version=detail.get("ledger_version", ""),
            differences=list(detail.get("differences", [])),
            document=detail.get("document", ""),
            at=at,
        )
    return judgements


def _versions_judged(record_ids: list[int]) -> dict[int, str]:
    """The ledger version (its updated time) of each record's latest reconcile finding."""
    return {pk: judgement.version for pk, judgement in _judgements(record_ids).items()}


def _our_last_writes(
    connection: Connection, document_ids: list[int]
) -> dict[int, datetime.datetime]:
    """When we last wrote to each document's entries in the ledger (its own push or one of its
    payments': a payment changes its bill's entry there too)."""
    rows = (
        SyncRecord.objects.filter(connection=connection, document_id__in=document_ids)
        .exclude(synced_at=None)
        .values("document_id")
        .annotate(last=Max("synced_at"))
        .values_list("document_id", "last")
    )
    return dict(rows)


def _pushed_payments(connection: Connection, document_ids: list[int]) -> dict[int, Decimal | None]:
    """What our payments of each document put in the ledger; None where a payment of ours is
    still on its way (not Complete), so that paid elsewhere cannot be told yet."""
    rows = (
        SyncRecord.objects.filter(
            connection=connection, document_id__in=document_ids, payment__isnull=False
        )
        .values("document_id", "status")
        .annotate(amount=Sum("synced_amount"))
    )
    paid: dict[int, Decimal | None] = {}
    for row in rows:
        document_id = row["document_id"]
        if row["status"] != RecordStatus.COMPLETE:
            paid[document_id] = None
        elif document_id not in paid or paid[document_id] is not None:
            paid[document_id] = (paid.get(document_id) or Decimal("0")) + (
                row["amount"] or Decimal("0")
            )
    return paid


def _drift_of(record: SyncRecord, state: EntryState, ledger: str, mappings, paid, lines):
    """(the drift error, the differences, the document's payload hash) of a record against
    the ledger's entry; the error None when the ledger holds what the document says."""
    try:
        payload = _build_payload(
            record.document, connection=record.connection, mappings=mappings, lines=lines
        )
    except ConnectorError:
        # Our side cannot be built now: a push will say so, not the reconcile.
        return None, [], ""
    digest = payload_hash(payload)
    if state.gone:
        if payload.voided:
            return None, [], digest  # voided here too, and pushed so
        return _gone_error(ledger, state.status, state.number), [state.status.lower()], digest
    differences = entry_differences(payload, state)
    if differences:
        return _changed_error(ledger, state, differences), differences, digest
    ours = paid.get(record.document_id, Decimal("0"))
    if ours is not None and state.amount_paid > ours:
        paid_there = [f"amount paid {state.amount_paid} there, {ours} here"]
        return _paid_error(ledger, state, ours), paid_there, digest
    return None, [], digest


def _lock_unchanged(records) -> set[tuple[int, int]]:
    """(id, version) of those of `records` still Complete, unclaimed and at the version judged,
    locked in id order (as the engine locks records) until the transaction ends."""
    return set(
        SyncRecord.objects.select_for_update()
        .filter(
            pk__in=[record.pk for record in records],
            status=RecordStatus.COMPLETE,
            claimed_until__isnull=True,
        )
        .order_by("pk")
        .values_list("pk", "version")
    )


def _save_findings(findings, log: _AttemptLog, since: datetime.datetime) -> int:
    """Each drifted record Failed with its attempt, in one transaction and a fixed number of
    statements; a record that changed meanwhile (a push began, an edit) is left to that push."""
    if not findings:
        return 0
    now = timezone.now()
    with transaction.atomic():
        unchanged = _lock_unchanged([record for record, *_ in findings])
        saved, attempts = [], []
        for record, change, error, detail in findings:
            if (record.pk, record.version) not in unchanged:
                continue
            state = change.state
            record.status = RecordStatus.FAILED
            record.last_error_code = error.status_code
            record.last_error_message = error.message
            record.last_error_explanation = error.explanation
            record.last_error_hint = error.hint
            # The ledger no longer holds what we pushed: the next push sends it again.
            record.payload_hash = ""
            if isinstance(state, EntryState):
                record.synced_amount = state.total
                record.booked = state.booked
            else:  # a payment deleted or voided there: nothing of it pays there any more
                record.synced_amount = Decimal("0.00")
                # The flag the push reads to make a new payment instead of keeping this one
                # (a voided payment is as unusable as a deleted one).
                record.payment_deleted_in_ledger = True
            record.updated_at = now
            saved.append(record)
            attempts.append(
                SyncAttempt(
                    org_id=record.org_id,
                    record=record,
                    trigger=Trigger.RECONCILE,
                    reason=f"changed in {record.connection.get_provider_display()} since "
                    f"{since:%Y-%m-%d %H:%M} UTC",
                    operation=Operation.UNDECIDED,
                    outcome=AttemptOutcome.FAILED,
                    status_code=error.status_code,
                    error_message=error.message,
                    explanation=error.explanation,
                    hint=error.hint,
                    error_detail=detail,
                    http_status=change.call.http_status,
                    calls=[plain_data(change.call)],
                    duration_ms=change.call.duration_ms,
                    started_at=log.started_at,
                    finished_at=now,
                )
            )
        update_rows(saved, DRIFT_FIELDS)
        _insert_attempts(attempts)
        webhook_emit_records_failed(records=saved)
    return len(saved)


def _save_baselines(baselines, log: _AttemptLog, ledger: str) -> None:
    """The first read of an entry marked Complete by hand since our last push, unchanged there
    since but for our own writes: what it differs by is what the mark vouched for, written as
    the record's judgement (an attempt, trigger Reconcile) that later reads are judged by. A
    record that changed meanwhile is left to its push."""
    if not baselines:
        return
    now = timezone.now()
    with transaction.atomic():
        unchanged = _lock_unchanged([record for record, *_ in baselines])
        _insert_attempts(
            [
                SyncAttempt(
                    org_id=record.org_id,
                    record=record,
                    trigger=Trigger.RECONCILE,
                    reason="read after it was marked Complete by hand",
                    operation=Operation.NOTHING_TO_PUSH,
                    outcome=AttemptOutcome.SUCCESS,
                    status_code=StatusCode.NOTHING_TO_PUSH,
                    explanation=f"{ledger} holds this entry otherwise than the document: "
                    + "; ".join(detail["differences"])
                    + f". It was marked Complete by hand after ledgersync last pushed it, and "
                    f"has not changed in {ledger} since except by ledgersync's own writes: "
                    f"this is kept as what {ledger} should hold, and a later change there is "
                    "reported.",
                    error_detail=detail,
                    http_status=change.call.http_status,
                    calls=[plain_data(change.call)],
                    duration_ms=change.call.duration_ms,
                    started_at=log.started_at,
                    finished_at=now,
                )
                for record, change, detail in baselines
                if (record.pk, record.version) in unchanged
            ]
        )


# What a drift finding writes on its record.
DRIFT_FIELDS = [
    "status",
    "last_error_code",
    "last_error_message",
    "last_error_explanation",
    "last_error_hint",
    "payload_hash",
    "synced_amount",
    "booked",
    "payment_deleted_in_ledger",
    "updated_at",
]
