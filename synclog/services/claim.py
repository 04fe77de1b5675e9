"""A batch's claim: the records a worker takes (Pending, due, claimed by no other worker) and
what their pushes read, each made once for the batch (the connection, documents, payments,
contacts, lines and categories), read as rows (synclog.services.rows)."""

import datetime

from django.conf import settings
from django.db import connection as db_connection
from django.utils import timezone

from documents.models import Category, Contact, Document, DocumentLine, Payment
from integrations.models import Connection, Mapping, MappingKind
from synclog.models import RecordStatus, SyncRecord
from synclog.services.rows import (
    columns,
    instances_by_id,
    instances_from_rows,
    select_instances,
)
from syncsvc.database import IdArray


def _batch_connection(record_id: int) -> Connection | None:
    """The connection of a batch (of its first record: a batch is one connection's)."""
    found = select_instances(
        Connection,
        f"SELECT {columns(Connection, 'connection')} FROM integrations_connection AS connection"
        " JOIN synclog_syncrecord AS record ON record.connection_id = connection.id"
        " WHERE record.id = %s",
        [record_id],
    )
    return found[0] if found else None


def _claim_records(
    record_ids: list[int], token: str, connection: Connection | None
) -> list[SyncRecord]:
    """Claim the records of `record_ids` that are Pending, due and not claimed by another
    worker, and return them in id order with what their pushes read: the document and the
    payment, and the connection and contacts (and, with the lines, categories) each made once
    for the batch. A batch is one connection's and its documents share a few contacts and
    categories: joined per record they were ~3 more model instances a record, and a Connection
    per record 50 decodings of its JSON fields. Read as rows (rows.instances_from_rows): the
    querysets' compilation and Model.__init__ were a fifth of a batch's CPU."""
    now = timezone.now()
    with db_connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_SQL,
            {
                "ids": IdArray(record_ids),
                "pending": RecordStatus.PENDING,
                "now": now,
                "token": token,
                "until": now + datetime.timedelta(seconds=settings.SYNC_LEASE_SECONDS),
            },
        )
        records = instances_from_rows(SyncRecord, sorted(cursor.fetchall()))
    documents = instances_by_id(Document, {record.document_id for record in records})
    payments = instances_by_id(Payment, {record.payment_id for record in records} - {None})
    connections = {connection.pk: connection} if connection is not None else {}
    others = {record.connection_id for record in records} - set(connections)
    if others:
        connections |= Connection.objects.in_bulk(others)
    contacts = instances_by_id(Contact, {document.contact_id for document in documents.values()})
    for document in documents.values():
        _DOCUMENT_CONTACT.set_cached_value(document, contacts[document.contact_id])
    for record in records:
        _RECORD_CONNECTION.set_cached_value(record, connections[record.connection_id])
        _RECORD_DOCUMENT.set_cached_value(record, documents[record.document_id])
        _RECORD_PAYMENT.set_cached_value(record, payments.get(record.payment_id))
    return records


# Sorted by id as read (the first column): records in id order.
_CLAIM_SQL = f"""
UPDATE synclog_syncrecord AS record
SET claimed_by = %(token)s, claimed_until = %(until)s
WHERE record.id = ANY(%(ids)s)
  AND record.status = %(pending)s
  AND (record.claimed_until IS NULL OR record.claimed_until < %(now)s)
  AND (record.next_retry_at IS NULL OR record.next_retry_at <= %(now)s)
RETURNING {columns(SyncRecord, "record")}
"""


_RECORD_CONNECTION = SyncRecord._meta.get_field("connection")
_RECORD_DOCUMENT = SyncRecord._meta.get_field("document")
_RECORD_PAYMENT = SyncRecord._meta.get_field("payment")
_DOCUMENT_CONTACT = Document._meta.get_field("contact")
_DOCUMENT_CATEGORY = Document._meta.get_field("category")
_LINE_CATEGORY = DocumentLine._meta.get_field("category")


def _document_lines(records: list[SyncRecord]) -> dict[int, list[DocumentLine]]:
    """The documents' lines in their order, in one query (prefetch_related made a queryset and
    a manager per document to hold them), and the categories of the lines and documents in
    another, one instance each (a bulk run's bills share a few)."""
    documents = {record.document_id: record.document for record in records}
    lines: dict[int, list[DocumentLine]] = {}
    with db_connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns(DocumentLine, 'line')} FROM documents_documentline AS line"
            " WHERE line.document_id = ANY(%s) ORDER BY line.position, line.id",
            [IdArray(documents)],
        )
        for line in instances_from_rows(DocumentLine, cursor.fetchall()):
            lines.setdefault(line.document_id, []).append(line)
    category_ids = {line.category_id for group in lines.values() for line in group}
    category_ids |= {document.category_id for document in documents.values()}
    categories = instances_by_id(Category, category_ids - {None})
    for document in documents.values():
        _DOCUMENT_CATEGORY.set_cached_value(document, categories.get(document.category_id))
        for line in lines.get(document.pk, ()):
            _LINE_CATEGORY.set_cached_value(line, categories.get(line.category_id))
    return lines


def _batch_mappings(
    records: list[SyncRecord], lines: dict[int, list[DocumentLine]]
) -> dict[tuple[str, int], Mapping]:
    """The mappings of the batch's connection that its payloads read (build_entry_payload: the
    documents' contacts, their and their lines' categories and departments), keyed as
    integrations.selectors.mapping_index keys them. Only those: an organisation maps hundreds
    of contacts, and all of them for every batch grew with the mappings instead of the batch
    (and the queryset's compilation was ~5% of an unchanged batch's CPU)."""
    documents = [record.document for record in records]
    batch_lines = [line for group in lines.values() for line in group]
    categories = {d.category_id for d in documents} | {line.category_id for line in batch_lines}
    departments = {d.department_id for d in documents}
    departments |= {line.department_id for line in batch_lines}
    found = select_instances(
        Mapping,
        f"SELECT {columns(Mapping, 'mapping')} FROM integrations_mapping AS mapping"
        " WHERE mapping.connection_id = %(connection)s AND ("
        " (mapping.kind = %(contact)s AND mapping.local_id = ANY(%(contacts)s))"
        " OR (mapping.kind = %(account)s AND mapping.local_id = ANY(%(categories)s))"
        " OR (mapping.kind = %(tracking)s AND mapping.local_id = ANY(%(departments)s)))",
        {
            "connection": records[0].connection_id,
            "contact": MappingKind.CONTACT.value,
            "contacts": IdArray({document.contact_id for document in documents}),
            "account": MappingKind.ACCOUNT.value,
            "categories": IdArray(categories - {None}),
            "tracking": MappingKind.TRACKING.value,
            "departments": IdArray(departments - {None}),
        },
    )
    return {(mapping.kind, mapping.local_id): mapping for mapping in found}
