"""Accounting Sync History tests. Page tests write records directly (the engine is tested in
tests/synclog/test_engine.py); a few go through the engine end to end."""

import datetime
from decimal import Decimal

from django.utils import timezone

from documents.models import DocumentKind, DocumentStatus, Payment
from integrations.models import Connection
from synclog.models import EntryType, RecordStatus, SyncRecord
from tests.factories import ConnectionFactory, DocumentFactory, SyncRecordFactory

PAYMENT_TYPES = (EntryType.BILL_PAYMENT, EntryType.INVOICE_PAYMENT)


def make_connection(org, name="Xero") -> Connection:
    return ConnectionFactory(org=org, name=name)


def make_record(
    *,
    connection: Connection,
    entry_type: str = EntryType.BILL,
    status: int = RecordStatus.FAILED,
    total: str = "100.00",
    updated_at: datetime.datetime | None = None,
    document=None,
    payment_amount: str = "40.00",
    payment_reference: str = "",
    **fields,
) -> SyncRecord:
    """A record of a new document (and payment, on payment tabs), written directly."""
    org = connection.org
    if document is None:
        kind = DocumentKind.INVOICE if entry_type.startswith("invoice") else DocumentKind.BILL
        document = DocumentFactory(
            org=org, kind=kind, status=DocumentStatus.APPROVED, total=Decimal(total)
        )
    payment = None
    if entry_type in PAYMENT_TYPES:
        payment = Payment.objects.create(
            org=org,
            document=document,
            amount=Decimal(payment_amount),
            paid_at=datetime.date(2026, 11, 5),
            reference=payment_reference,
        )
    record = SyncRecordFactory(
        connection=connection,
        entry_type=entry_type,
        document=document,
        payment=payment,
        status=status,
        **fields,
    )
    if updated_at is not None:
        # auto_now: only an update() sets a chosen time.
        SyncRecord.objects.filter(pk=record.pk).update(updated_at=updated_at)
        record.refresh_from_db()
    return record


def days_ago(n: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=n)
