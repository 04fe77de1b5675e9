"""A bill and its payments are one thing on Requires attention: a failed bill's row carries the
payments waiting for it (synclog.services.outcomes._wait_for_bill), and one Retry pushes them
together (synclog.services.retry_failed_records)."""

from collections.abc import Iterable

from django.db.models import F

from accounts.models import Organization
from synclog.models import WAITS_FOR_BILL, RecordStatus, SyncRecord


def attention_attach_waiting_payments(
    *, org: Organization, records: Iterable[SyncRecord]
) -> list[SyncRecord]:
    """Give each record shown its payments waiting for it, `waiting_payments` (the oldest
    payment first; empty for a payment's own record), in one query whatever their number."""
    records = list(records)
    entries = [record for record in records if not record.is_payment]
    for record in records:
        record.waiting_payments = []
    if not entries:
        return records
    waiting = (
        SyncRecord.objects.for_org(org)
        .filter(
            status=RecordStatus.PENDING,
            pending_reason=WAITS_FOR_BILL,
            payment__isnull=False,
            document_id__in={record.document_id for record in entries},
            connection_id__in={record.connection_id for record in entries},
        )
        .select_related("payment")
        .order_by(F("payment__paid_at").asc(), "id")
    )
    by_entry: dict[tuple[int, int], list[SyncRecord]] = {}
    for payment in waiting:
        by_entry.setdefault((payment.connection_id, payment.document_id), []).append(payment)
    for record in entries:
        record.waiting_payments = by_entry.get((record.connection_id, record.document_id), [])
    return records


def attention_chain_has_failures(
    *, org: Organization, connection_id: int, document_id: int
) -> bool:
    """Whether the document has a Failed entry on the connection: what a chain's Retry pushes
    again (its waiting payments go with its bill)."""
    return (
        SyncRecord.objects.for_org(org)
        .filter(connection_id=connection_id, document_id=document_id, status=RecordStatus.FAILED)
        .exists()
    )
