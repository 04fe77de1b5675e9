"""Which entries the ledger's lock date holds back (issue 17, item 2), for the pages that count
them before a push (the re-sync preview, bulk confirmations)."""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass

from documents.models import Document, Payment
from integrations.models import Connection, LockedPeriodPolicy
from synclog.models import LOCK_HELD_PREFIX, RecordStatus, StatusCode, SyncRecord
from synclog.rules import ENTRY_TYPE_FOR_KIND, PAYMENT_TYPE_FOR_KIND


@dataclass(frozen=True)
class LockedEntry:
    document_id: int
    entry_type: str  # bill, invoice, expense, bill_payment, invoice_payment
    payment_id: int | None
    dated: datetime.date  # the date the ledger checks (issue date, payment date)
    locked_until: datetime.date  # the connection's lock date: locked on or before it
    redated_to: datetime.date | None  # the first open day, where the policy re-dates


def connection_locked_entries(
    *, connection: Connection, document_ids: Iterable[int]
) -> list[LockedEntry]:
    """The entries of these documents (the connection's organisation's only) dated on or
    before the connection's known lock date: a push of each is held or re-dated (per the
    connection's policy), never sent as it is. No ledger call; two queries at most."""
    lock = connection.lock_date
    ids = list(document_ids)
    if lock is None or not ids:
        return []
    redating = connection.locked_period_policy == LockedPeriodPolicy.REDATE
    first_open = lock + datetime.timedelta(days=1) if redating else None
    documents = Document.objects.for_org(connection.org_id).filter(
        pk__in=ids, kind__in=list(ENTRY_TYPE_FOR_KIND)
    )
    found = [
        LockedEntry(pk, ENTRY_TYPE_FOR_KIND[kind], None, day, lock, first_open)
        for pk, kind, day in documents.filter(issue_date__lte=lock).values_list(
            "pk", "kind", "issue_date"
        )
    ]
    payments = Payment.objects.filter(document__in=documents, paid_at__lte=lock).values_list(
        "document_id", "document__kind", "pk", "paid_at"
    )
    found += [
        LockedEntry(document_id, PAYMENT_TYPE_FOR_KIND[kind], pk, day, lock, first_open)
        for document_id, kind, pk, day in payments
    ]
    return sorted(found, key=lambda e: (e.document_id, e.payment_id or 0))


def lock_day(day: datetime.date) -> str:
    """A lock date in plain words: 15 Nov 2026."""
    return f"{day.day} {day:%b %Y}"


def lock_date_words(*, connection: Connection) -> str:
    """The connection's lock date as a page says it, with where it comes from and when read."""
    ledger = connection.get_provider_display()
    if connection.lock_date_read_at is None:
        return f"{ledger}'s lock date has not been read yet."
    if connection.lock_date is None:
        state = f"Nothing is locked in {ledger}"
    else:
        state = f"{ledger} is locked until {lock_day(connection.lock_date)} (inclusive)"
    source = f": {connection.lock_date_source}" if connection.lock_date_source else ""
    return f"{state}{source}; read {connection.lock_date_read_at:%Y-%m-%d %H:%M} UTC."


def held_records(connection: Connection):
    """The connection's records held for its lock date (Failed, with the held message)."""
    return SyncRecord.objects.filter(
        connection=connection,
        status=RecordStatus.FAILED,
        last_error_code=StatusCode.DATA_PUSH,
        last_error_message__startswith=LOCK_HELD_PREFIX,
    )


def connection_held_count(*, connection: Connection) -> int:
    """How many of the connection's entries wait, held, for its ledger's lock date to move."""
    return held_records(connection).count()
