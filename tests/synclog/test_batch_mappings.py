"""A batch reads only the mappings its payloads need (claim._batch_mappings): the documents'
contacts, their and their lines' categories and departments, of the batch's connection. Every
payload must come out as with all of the connection's mappings (mapping_index)."""

from decimal import Decimal

from documents.models import DocumentLine, DocumentStatus
from integrations.models import MappingKind
from integrations.payloads import build_entry_payload
from integrations.selectors import mapping_index
from synclog.services.claim import _batch_mappings, _claim_records, _document_lines
from tests.factories import (
    CategoryFactory,
    ConnectionFactory,
    ContactFactory,
    DepartmentFactory,
    DocumentFactory,
    MappingFactory,
    SyncRecordFactory,
)


def _map(connection, kind, local_id, name):
    return MappingFactory(
        connection=connection,
        kind=kind,
        local_id=local_id,
        external_id=f"ext-{kind}-{local_id}",
        external_name=name,
        extra={"code": name} if kind == MappingKind.ACCOUNT else {},
    )


def test_a_batch_reads_the_mappings_its_payloads_use_and_no_others(org, other_org):
    connection = ConnectionFactory(org=org)
    second = ConnectionFactory(org=org, name="Xero 2")
    theirs = ConnectionFactory(org=other_org)
    sales, ops = DepartmentFactory(org=org), DepartmentFactory(org=org)
    line_category = CategoryFactory(org=org)
    records = []
    for index in range(3):
        document = DocumentFactory(
            org=org,
            status=DocumentStatus.APPROVED,
            department=sales if index else None,
            contact=ContactFactory(org=org),
        )
        # A second line with a category and a department of its own.
        DocumentLine.objects.create(
            document=document,
            position=1,
            description="Freight",
            unit_amount=Decimal("5.00"),
            amount=Decimal("5.00"),
            category=line_category,
            department=ops,
        )
        records.append(SyncRecordFactory(connection=connection, document=document))
        for target in (connection, second):
            _map(target, MappingKind.CONTACT, document.contact_id, f"C{index}")
            _map(target, MappingKind.ACCOUNT, document.category_id, f"4{index}0")
    for target in (connection, second):
        _map(target, MappingKind.ACCOUNT, line_category.pk, "499")
        _map(target, MappingKind.TRACKING, sales.pk, "Dept: Sales")
        _map(target, MappingKind.TRACKING, ops.pk, "Dept: Ops")
    # Mappings no payload of the batch reads: other contacts and categories, a tax rate.
    unused = [
        _map(connection, MappingKind.CONTACT, ContactFactory(org=org).pk, "Other"),
        _map(connection, MappingKind.ACCOUNT, CategoryFactory(org=org).pk, "600"),
        _map(connection, MappingKind.TAX, line_category.pk, "INPUT"),
    ]
    # The same local ids mapped on another organisation's connection.
    _map(theirs, MappingKind.CONTACT, records[0].document.contact_id, "Theirs")

    claimed = _claim_records([record.pk for record in records], "token", connection)
    lines = _document_lines(claimed)
    batch = _batch_mappings(claimed, lines)
    everything = mapping_index(connection=connection)

    assert {mapping.pk for mapping in batch.values()} == (
        {mapping.pk for mapping in everything.values()} - {mapping.pk for mapping in unused}
    )
    assert all(mapping.connection_id == connection.pk for mapping in batch.values())
    for record in claimed:
        document = record.document
        kwargs = {"connection": connection, "lines": lines[document.pk]}
        assert build_entry_payload(document, mappings=batch, **kwargs) == build_entry_payload(
            document, mappings=everything, **kwargs
        )
    second_bill = claimed[1].document
    payload = build_entry_payload(
        second_bill, connection=connection, mappings=batch, lines=lines[second_bill.pk]
    )
    assert [line.account_code for line in payload.lines] == ["410", "499"]
    assert [line.tracking for line in payload.lines][1] != payload.lines[0].tracking
