"""The ledger's lock date before a push (issue 17, item 2). A push dated on or before the
connection's known lock date is not sent, since the ledger must refuse it: per the connection's
policy it is held (Failed 5130, "Locked until …", pushed again by itself when the lock moves)
or re-dated to the first open day, the original and new dates written on the attempt.

The lock date itself is read through integrations.services.connection_lock_date_refresh (on
connect, by beat, after a ledger's refusal), which calls held_records_release here."""

import dataclasses
import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from integrations.connectors.errors import HeldForLockError
from integrations.models import Connection, LockedPeriodPolicy
from synclog.models import LOCK_HELD_PREFIX, RecordStatus, SyncRecord, Trigger
from synclog.selectors.locks import held_records, lock_day
from synclog.services.marking import EntrySpec, _mark_pending, sync_records_enqueue


@dataclass(frozen=True)
class LockCheck:
    """What the lock date makes of one push: held (the error to fail it with) or re-dated."""

    held: HeldForLockError | None = None
    redated_to: datetime.date | None = None
    note: str = ""  # the re-dating, in words, for the attempt


def entry_day(record: SyncRecord, payload=None) -> datetime.date | None:
    """The date the ledger checks against its lock: the entry's issue date, a payment's date."""
    if record.is_payment:
        return record.payment.paid_at if record.payment_id else None
    return payload.issue_date if payload is not None else record.document.issue_date


def locked_on(connection: Connection, day: datetime.date | None) -> bool:
    """Whether the connection's known lock date covers this day (on or before it)."""
    return connection.lock_date is not None and day is not None and day <= connection.lock_date


def lock_check(record: SyncRecord, payload=None) -> LockCheck | None:
    """None when the push may go as it is; else held, or re-dated to the first open day. Only
    a new entry or a payment is re-dated: an entry already in the ledger in a locked period
    takes no change there at all, whatever its new date."""
    connection = record.connection
    day = entry_day(record, payload)
    if not locked_on(connection, day):
        # The entry the ledger holds may be dated in the locked period while the document's
        # new date is open: the ledger refuses any change to it all the same.
        held = None if record.is_payment or not record.external_id else record.synced_entry_date
        if not locked_on(connection, held):
            return None
        day = held
    lock = connection.lock_date
    ledger = connection.get_provider_display()
    if connection.locked_period_policy == LockedPeriodPolicy.REDATE and not record.external_id:
        first_open = lock + datetime.timedelta(days=1)
        return LockCheck(
            redated_to=first_open,
            note=f"re-dated {day.isoformat()} → {first_open.isoformat()}: {ledger} is locked "
            f"until {lock_day(lock)}",
        )
    return LockCheck(held=held_error(connection, record, day))


def held_error(connection: Connection, record: SyncRecord, day: datetime.date):
    """The HeldForLockError of a record dated `day`, inside the ledger's locked period: what
    Requires attention shows (grouped by the lock date alone) and how to release it."""
    ledger = connection.get_provider_display()
    lock = connection.lock_date
    entry = "payment" if record.is_payment else record.document.get_kind_display().lower()
    if record.external_id and not record.is_payment:
        # A change to an entry the ledger holds in its locked period: re-dating cannot help.
        return HeldForLockError(
            f"{LOCK_HELD_PREFIX}{lock_day(lock)} in {ledger}: the change was held, not sent.",
            explanation=f"{ledger}'s books are locked up to and including {lock_day(lock)}, "
            f"and this {entry} is dated {lock_day(day)}: {ledger} takes no change to it. "
            f"ledgersync held the change, and pushes it by itself as soon as {ledger}'s lock "
            f"date moves before {lock_day(day)}{_when_read(connection)}",
            hint=f"If the change must reach {ledger}, ask whoever closes the books there to "
            f"move the lock date; otherwise correct the document here to match {ledger}, or "
            "mark this record Complete after checking.",
        )
    return HeldForLockError(
        # Requires attention groups records by message: it names the lock date only.
        f"{LOCK_HELD_PREFIX}{lock_day(lock)} in {ledger}: held, not sent.",
        explanation=f"{ledger}'s books are locked up to and including {lock_day(lock)}, and "
        f"this {entry} is dated {lock_day(day)}, so {ledger} would refuse it. ledgersync held "
        f"it instead of sending it, and pushes it by itself as soon as {ledger}'s lock date "
        f"moves before {lock_day(day)}{_when_read(connection)}",
        hint=f"Ask whoever closes the books in {ledger} to move the lock date if this belongs "
        f"in the locked period; or change the document's date here; or have an admin choose "
        f"“Re-date it to the first open day” under Integrations › {connection.name} › Locked "
        "periods.",
    )


def _when_read(connection: Connection) -> str:
    """When ledgersync learns that the lock moved: a retry before then is held again, since
    it checks the lock date it knows (seen on the demo: support retried after the lock was
    lifted in the ledger and it was held once more)."""
    minutes = max(1, round(settings.LEDGER_LOCK_DATE_REFRESH_SECONDS / 60))
    return (
        f": ledgersync reads the lock date again every {minutes} minutes, or at once when an "
        f"admin presses “Read the lock date again” under Integrations › {connection.name} › "
        "Locked periods (a retry before then is held again)."
    )


def redated(payload, day: datetime.date):
    """The payload dated `day` instead (an entry's due date never before it)."""
    if hasattr(payload, "paid_on"):
        return dataclasses.replace(payload, paid_on=day)
    return dataclasses.replace(payload, issue_date=day, due_date=max(payload.due_date, day))


def note_on_attempt(record: SyncRecord, check: LockCheck) -> None:
    """The re-dating goes on the attempt's reason (in memory only: the attempt is written from
    the record's pending reason)."""
    reason = f"{record.pending_reason} · {check.note}" if record.pending_reason else check.note
    record.pending_reason = reason[:200]


def held_records_release(*, connection: Connection, refused_ids=()) -> list[int]:
    """Push again, at once, the held records the connection's lock date (as read now) no
    longer covers (under the re-dating policy, every new entry and payment), and the records
    the ledger refused for its lock that the lock date now read covers (they are held then,
    with its date, before any call). Returns their ids."""
    records = list(
        (
            held_records(connection)
            | SyncRecord.objects.filter(
                connection=connection, pk__in=list(refused_ids), status=RecordStatus.FAILED
            )
        ).select_related("document", "payment", "connection")
    )
    redating = connection.locked_period_policy == LockedPeriodPolicy.REDATE
    refused = set(refused_ids)
    chosen = [
        record
        for record in records
        if (record.pk in refused and locked_on(connection, entry_day(record)))
        or (
            record.pk not in refused
            # Re-dating sends a new entry or payment; a change to a linked entry stays held.
            and (
                (redating and not record.external_id)
                or not locked_on(connection, entry_day(record))
            )
        )
    ]
    if not chosen:
        return []
    specs = [EntrySpec(r.document_id, r.entry_type, r.payment_id) for r in chosen]
    with transaction.atomic():
        ids = _mark_pending(
            connection=connection,
            specs=specs,
            reason=f"{connection.get_provider_display()}'s lock date moved",
            trigger=Trigger.AUTO,
        )
        sync_records_enqueue(ids, trigger=Trigger.AUTO)
    return ids
