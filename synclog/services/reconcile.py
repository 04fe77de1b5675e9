"""Drift detection (issue 17, item 3): a periodic reconcile per connection reads the entries
changed in the ledger since the last one and marks each synced record whose entry no longer
matches what we pushed (amount, dates, contact, lines, voided, deleted, paid elsewhere, a
payment deleted or voided).

A drifted record becomes Failed with one constant message per kind of drift ("Changed in Xero
since ledgersync pushed it"; "Voided in Xero" as a push words it), the differences in its
explanation: so the document's tab, Requires attention (one group per kind and connection), the
Documents list's Drifted status and Retry all work on it as on any failure. Its payload hash is
cleared (the ledger no longer holds that payload), so that "push ours again" (a retry, a
re-sync) sends the document again instead of finding nothing to push; "accept the ledger's" is
the audited Update Sync Status to Complete (`sync_record_accept_ledger`). Each finding is an
attempt of its own (trigger Reconcile) holding what the ledger answered for that entry.

The reconcile's calls take the quota as bulk work does, only when no push a person or an edit
is waiting for is due on the connection; out of quota it comes back later (it never sleeps).
Re-reading an entry is harmless: an entry that matches writes nothing, and an entry version
already judged (a drift found, then accepted) is not flagged again. Nor is a later version that
differs from the document as judged: a record accepted, or marked Complete by hand after a push
the ledger refused, holds something else than the document, and our own writes (a payment) move
the entry's version (synclog.services.drift._baseline).
"""

import datetime
import logging
import time
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Organization
from integrations.connectors import connector_class_for
from integrations.connectors.errors import (
    ConnectorError,
    RateLimitedError,
)
from integrations.connectors.types import EntryKind
from integrations.models import Connection, ConnectionEvent, ConnectionEventKind, ConnectionStatus
from integrations.services import connector_for
from synclog.models import (
    PAYMENT_ENTRY_TYPES,
    EntryType,
    LedgerReconcile,
    RecordStatus,
    SyncRecord,
)
from synclog.models.reconcile import RECONCILE_LEASE
from synclog.ratelimit import Grant, get_rate_limiter
from synclog.rules import BATCHED_TRIGGERS
from synclog.selectors.attention.records import group_filter
from synclog.services.attempt_log import _AttemptLog
from synclog.services.drift import (
    _mark_drifted,
    _mark_missing_deleted,
    _mark_payments_gone,
)
from synclog.services.quota import (
    PAGE_REQUEST_LEASE_SECONDS,
    _gives_way,
    _limits,
    _quota_key,
    connection_quota_pause,
)
from synclog.services.status import sync_status_update

logger = logging.getLogger(__name__)

# Each reconcile reads from a little before the last one began: an entry saved in the ledger
# while the last read was under way is read again rather than missed.
RECONCILE_OVERLAP = datetime.timedelta(minutes=2)
# How long a reconcile waits for the pushes a person or an edit is waiting for.
INTERACTIVE_FIRST_SECONDS = 30.0

# The entries each kind of record is, among the changes a ledger reports.
KINDS_FOR_ENTRY_TYPE = {
    EntryType.BILL: {EntryKind.BILL},
    EntryType.INVOICE: {EntryKind.INVOICE},
    # An expense is spend money, or a bill when paid later from a bank account.
    EntryType.EXPENSE: {EntryKind.SPEND, EntryKind.BILL},
}


@dataclass
class ReconcileResult:
    """What one reconcile of a connection did; `wait`: come back after that many seconds
    (no quota now, or a push goes first), the mark unchanged."""

    entries_read: int = 0
    drifted: int = 0
    calls: int = 0
    wait: float | None = None


class _NoQuota(Exception):
    def __init__(self, seconds: float):
        self.seconds = seconds


def reconcile_reads_changes(connection: Connection) -> bool:
    """Whether the connection's ledger can be reconciled (its connector reads changes)."""
    return connector_class_for(connection.provider).reads_changes


def connections_to_reconcile() -> list[int]:
    """The active connections whose ledger the reconcile can read, every organisation's."""
    return [
        connection.pk
        for connection in Connection.objects.filter(status=ConnectionStatus.ACTIVE).only(
            "pk", "provider"
        )
        if reconcile_reads_changes(connection)
    ]


def reconcile_schedule_all() -> list[int]:
    """Beat's turn: the connections whose reconcile it sends now, each marked as scheduled now
    (the page's "next scheduled check" is an interval after it)."""
    connection_ids = connections_to_reconcile()
    if connection_ids:
        LedgerReconcile.objects.bulk_create(
            [LedgerReconcile(connection_id=pk) for pk in connection_ids], ignore_conflicts=True
        )
        LedgerReconcile.objects.filter(connection_id__in=connection_ids).update(
            scheduled_at=timezone.now()
        )
    return connection_ids


def connection_reconcile_request(
    *, connection: Connection, actor=None, actor_label: str = ""
) -> LedgerReconcile:
    """ "Check the ledger now": send the connection's reconcile at once instead of waiting for
    beat's next turn. It is the same task on the same (bulk) queue as beat's, so it takes the
    quota as bulk work and waits for the pushes people are waiting for; a second request while
    one is queued or running is refused, as is a connection that is not active (a connection
    that needs re-authorisation says so). Audited as a connection event (who asked).
    Raises ValidationError with code "needs_reauth", "inactive", "unsupported", "running",
    "queued" or "not_queued" (the broker is down: nothing is saved, the request may be made
    again)."""
    ledger = connection.get_provider_display()
    if connection.status == ConnectionStatus.NEEDS_REAUTH:
        raise ValidationError(
            f"{ledger} no longer accepts ledgersync's access, so its entries cannot be read: "
            f"reconnect {connection.name}, then check the ledger.",
            code="needs_reauth",
        )
    if connection.status != ConnectionStatus.ACTIVE:
        raise ValidationError(
            f"{connection.name} is {connection.get_status_display().lower()}: only an active "
            "connection's ledger is checked.",
            code="inactive",
        )
    if not reconcile_reads_changes(connection):
        raise ValidationError(
            f"ledgersync cannot read what changed in {ledger}.", code="unsupported"
        )
    with transaction.atomic():
        LedgerReconcile.objects.get_or_create(connection=connection)
        # Locked: two requests at the same moment send one reconcile, not two.
        mark = LedgerReconcile.objects.select_for_update().get(connection=connection)
        now = timezone.now()
        if mark.running(now):
            since = timezone.localtime(mark.started_at)
            raise ValidationError(
                f"{ledger} is being checked already (since {since:%H:%M:%S}): what it finds "
                "shows as soon as it ends.",
                code="running",
            )
        if mark.queued(now):
            raise ValidationError(
                f"A check of {ledger} is already queued (asked at "
                f"{timezone.localtime(mark.requested_at):%H:%M:%S}): it starts once the pushes "
                "people are waiting for have gone and the quota allows.",
                code="queued",
            )
        mark.requested_at = now
        mark.save(update_fields=["requested_at"])
        ConnectionEvent.objects.create(
            connection=connection,
            kind=ConnectionEventKind.LEDGER_CHECK,
            actor=actor,
            note=f"by {actor_label}" if actor_label and actor is None else "",
        )
        # Sent before the commit, not after it: a broker that is down then undoes the request
        # (its mark and its event) instead of leaving it "queued" with nothing queued, refusing
        # the next request for RECONCILE_LEASE. A worker quick to start waits for this commit
        # on the row's lock (_claim updates the row).
        try:
            _send_reconcile(connection.pk)
        except Exception as error:
            logger.warning(
                "Broker unavailable: ledger check of connection %s not queued", connection.pk
            )
            raise ValidationError(
                f"The check of {ledger} could not be queued: the task queue is unavailable "
                "right now. Try again in a few minutes.",
                code="not_queued",
            ) from error
    return mark


def _send_reconcile(connection_id: int) -> None:
    from synclog.tasks import send_ledger_reconcile  # the tasks import the services

    send_ledger_reconcile(connection_id)


def connection_reconcile(*, connection_id: int) -> ReconcileResult:
    """Read what changed in the connection's ledger since its last reconcile and mark the
    Complete records whose entry no longer matches as drifted (Failed, with an attempt each).
    Records Pending, claimed or already Failed are left alone. Idempotent: run twice over the
    same changes it finds nothing new the second time."""
    connection = Connection.objects.filter(pk=connection_id).select_related("org").first()
    if (
        connection is None
        or connection.status != ConnectionStatus.ACTIVE
        or not reconcile_reads_changes(connection)
    ):
        return ReconcileResult()
    if _interactive_waiting(connection):
        return ReconcileResult(wait=INTERACTIVE_FIRST_SECONDS)
    mark = _claim(connection)
    if mark is None:
        return ReconcileResult()  # another reconcile of this connection is under way
    started = timezone.now()
    result = ReconcileResult()
    try:
        result = _reconcile(connection, mark, started)
    finally:
        LedgerReconcile.objects.filter(pk=mark.pk).update(finished_at=timezone.now())
    return result


def _interactive_waiting(connection: Connection) -> bool:
    """A push that is not bulk work is due on the connection: it goes first."""
    now = timezone.now()
    return (
        SyncRecord.objects.filter(connection=connection, status=RecordStatus.PENDING)
        .exclude(pending_trigger__in=list(BATCHED_TRIGGERS))
        .filter(Q(next_retry_at__isnull=True) | Q(next_retry_at__lte=now))
        .exists()
    )


def _claim(connection: Connection) -> LedgerReconcile | None:
    mark, _ = LedgerReconcile.objects.get_or_create(connection=connection)
    now = timezone.now()
    claimed = (
        LedgerReconcile.objects.filter(pk=mark.pk)
        .filter(
            Q(started_at__isnull=True)
            | Q(finished_at__gte=F("started_at"))
            | Q(started_at__lt=now - RECONCILE_LEASE)
        )
        .update(started_at=now)
    )
    if not claimed:
        return None
    mark.refresh_from_db()
    return mark


def _reconcile(connection: Connection, mark: LedgerReconcile, started) -> ReconcileResult:
    complete = SyncRecord.objects.filter(connection=connection, status=RecordStatus.COMPLETE)
    entry_types = set(
        complete.exclude(external_id="").values_list("entry_type", flat=True).distinct()
    )
    since = mark.changed_since
    if since is None:
        # The first reconcile: an entry can only have drifted since we pushed it.
        since = complete.exclude(synced_at=None).order_by("synced_at").values_list(
            "synced_at", flat=True
        ).first() or (started - RECONCILE_OVERLAP)
        since -= RECONCILE_OVERLAP
    kinds = frozenset(
        kind
        for entry_type in entry_types - PAYMENT_ENTRY_TYPES
        for kind in KINDS_FOR_ENTRY_TYPE.get(entry_type, ())
    )
    payments = bool(entry_types & PAYMENT_ENTRY_TYPES)
    log = _AttemptLog(started_at=started, monotonic=time.monotonic())
    if not kinds:
        _advance(mark, started - RECONCILE_OVERLAP, calls=0, read=0, drifted=0)
        return ReconcileResult()
    connector = connector_for(
        connection, record_call=log.record, before_request=lambda: _take_bulk_request(connection)
    )
    try:
        changes = connector.changes_since(since=since, kinds=kinds, payments=payments)
    except _NoQuota as no_quota:
        return ReconcileResult(calls=len(log.calls), wait=no_quota.seconds)
    except RateLimitedError as error:
        connection_quota_pause(connection=connection, seconds=error.retry_after)
        return ReconcileResult(calls=len(log.calls), wait=error.retry_after)
    except ConnectorError as error:
        # Not advanced: the next reconcile reads the same changes again.
        logger.warning("Reconcile of connection %s failed: %s", connection.pk, error)
        LedgerReconcile.objects.filter(pk=mark.pk).update(last_error=error.message[:2000])
        return ReconcileResult(calls=len(log.calls))
    finally:
        connector.close()
    # The ledger's clock when it answered, where it said; ours otherwise (the overlap covers
    # a small difference between the two).
    read_at = changes.ledger_time or started
    drifted = _mark_drifted(connection, changes.entries, log, started, since)
    drifted += _mark_payments_gone(connection, changes.payments, log, started, since)
    if changes.complete:
        drifted += _mark_missing_deleted(connection, changes.entries, log, started, since)
        if payments:
            drifted += _mark_missing_deleted(
                connection, changes.payments, log, started, since, payments=True
            )
    _advance(
        mark,
        min(read_at, started) - RECONCILE_OVERLAP,
        calls=len(log.calls),
        read=len(changes.entries),
        drifted=drifted,
    )
    return ReconcileResult(entries_read=len(changes.entries), drifted=drifted, calls=len(log.calls))


def _advance(mark: LedgerReconcile, changed_since, *, calls: int, read: int, drifted: int) -> None:
    LedgerReconcile.objects.filter(pk=mark.pk).update(
        changed_since=max(changed_since, mark.changed_since or changed_since),
        entries_read=read,
        drifted=drifted,
        calls=calls,
        last_error="",
    )


def _take_bulk_request(connection: Connection) -> None:
    """Count one reconcile request in the quota as bulk work, or stop the reconcile for now:
    it comes back when there is room, after the pushes waiting for it."""
    limiter = get_rate_limiter()
    grant = limiter.try_acquire(
        _quota_key(connection),
        _limits(connection),
        calls=1,
        lease_seconds=PAGE_REQUEST_LEASE_SECONDS,
        gives_way=_gives_way(connection),
    )
    if not isinstance(grant, Grant):
        raise _NoQuota(float(grant))
    limiter.release(grant)


def sync_record_accept_ledger(*, org: Organization, record_id: int, actor) -> SyncRecord:
    """Accept the ledger's version of a drifted record: it is marked Complete by the audited
    Update Sync Status (who, when, and what the ledger holds in the note). Nothing is sent.
    Raises SyncRecord.DoesNotExist for another organisation's record, ValidationError for a
    record that has not drifted."""
    record = SyncRecord.objects.for_org(org).select_related("connection").get(pk=record_id)
    _accept_ledger(org, [record], actor)
    record.refresh_from_db()
    return record


@transaction.atomic
def attention_group_accept_ledger(
    *, org: Organization, connection_id: int, code: int, digest: str, actor
) -> int:
    """ "Accept Xero's for these N" on a Requires-attention group of drifted records: each one
    marked Complete in one transaction by the audited Update Sync Status, its note saying who
    accepted what the ledger holds for it. Nothing is sent. Returns how many were accepted;
    another organisation's connection has no records here (ValidationError: nothing to
    accept), and a group that did not drift is refused whole (ValidationError)."""
    records = list(
        SyncRecord.objects.for_org(org)
        .select_for_update()
        .filter(group_filter(connection_id, code, digest))
        .select_related("connection")
        .order_by("pk")
    )
    if not records:
        raise ValidationError("Nothing is left to accept in this group.")
    _accept_ledger(org, records, actor)
    return len(records)


def _accept_ledger(org: Organization, records: list[SyncRecord], actor) -> None:
    if not all(record.ledger_drifted for record in records):
        raise ValidationError("Only an entry that changed in the ledger can take its version.")
    deleted_payments = [record.pk for record in records if record.payment_deleted_in_ledger]
    if deleted_payments:
        # Accepted gone: the record stays linked to the deleted payment, and no push makes
        # another one.
        SyncRecord.objects.filter(pk__in=deleted_payments).update(payment_deleted_in_ledger=False)
    notes = {}
    for record in records:
        ledger = record.connection.get_provider_display()
        notes[record.pk] = (
            f"Accepted {ledger}'s: {record.last_error_message}. {record.last_error_explanation}"
        )
    sync_status_update(
        org=org,
        record_ids=list(notes),
        to_status=RecordStatus.COMPLETE,
        actor=actor,
        notes=notes,
    )
