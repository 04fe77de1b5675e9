"""The batch path reads and writes its rows without querysets or model instances
(synclog/services/rows.py): what it reads must be what the ORM would load, and what it inserts
what the ORM would save, field by field."""

import datetime
from decimal import Decimal

from django.db import connection as db
from django.utils import timezone

from documents.models import Document
from integrations.models import Connection
from synclog.models import RecordStatus, SyncRecord, SyncRunItem
from synclog.services.rows import (
    columns,
    insert_values,
    instances_by_id,
    select_instances,
    update_rows,
)
from tests.factories import ConnectionFactory, SyncRecordFactory, SyncRunFactory


def _values(instance, skip=frozenset()) -> dict:
    fields = type(instance)._meta.concrete_fields
    return {f.attname: getattr(instance, f.attname) for f in fields if f.attname not in skip}


def test_rows_load_as_the_orm_loads_them(org, other_org):
    record = SyncRecordFactory(
        connection=ConnectionFactory(org=org, settings={"rate_limits": {"per_window": 7}}),
        external_id="INV-1",
        synced_amount=Decimal("12.30"),
        synced_at=timezone.now(),
        synced_entry_date=datetime.date(2026, 3, 31),
        uploaded_attachment_ids=[4, 5],
        last_error_message="refused",
        last_error_code=5130,
    )
    neighbour = SyncRecordFactory(connection=ConnectionFactory(org=other_org))

    loaded = instances_by_id(SyncRecord, [record.pk])
    assert list(loaded) == [record.pk]  # the other organisation's record is not read
    assert _values(loaded[record.pk]) == _values(SyncRecord.objects.get(pk=record.pk))
    assert loaded[record.pk].uploaded_attachment_ids == [4, 5]  # JSON, not its text
    assert not loaded[record.pk]._state.adding
    assert loaded[record.pk]._state.db == "default"

    documents = instances_by_id(Document, [record.document_id, neighbour.document_id])
    for pk, document in documents.items():
        assert _values(document) == _values(Document.objects.get(pk=pk))

    (read,) = select_instances(
        Connection,
        f"SELECT {columns(Connection, 'c')} FROM integrations_connection AS c WHERE c.id = %s",
        [record.connection_id],
    )
    assert read.settings == {"rate_limits": {"per_window": 7}}
    assert read.credentials == record.connection.credentials  # decrypted as the ORM's


def test_a_loaded_instance_saves_like_one_the_orm_loaded(org):
    record = SyncRecordFactory(connection=ConnectionFactory(org=org))
    loaded = instances_by_id(SyncRecord, [record.pk])[record.pk]
    loaded.external_id = "INV-9"
    loaded.save(update_fields=["external_id"])
    assert SyncRecord.objects.get(pk=record.pk).external_id == "INV-9"
    assert SyncRecord.objects.count() == 1  # an UPDATE, not a second row


def test_inserted_values_take_the_defaults_the_orm_gives(org):
    connection = ConnectionFactory(org=org)
    made = SyncRecordFactory(connection=connection)
    model = SyncRecord(
        org_id=org.pk, connection_id=connection.pk, document_id=made.document_id, entry_type="x"
    )
    before = timezone.now()
    insert_values(
        SyncRecord,
        [
            {
                "org_id": org.pk,
                "connection_id": connection.pk,
                "document_id": made.document_id,
                "entry_type": "bill_payment",
            }
        ],
    )
    inserted = SyncRecord.objects.get(entry_type="bill_payment")
    skip = {"id", "entry_type", "created_at", "updated_at", "last_error_digest"}
    assert _values(inserted, skip) == _values(model, skip)
    assert inserted.status == RecordStatus.PENDING
    assert inserted.uploaded_attachment_ids == []
    assert before <= inserted.created_at <= timezone.now()
    assert inserted.updated_at == inserted.created_at

    run = SyncRunFactory(org=org, connection=connection)
    insert_values(SyncRunItem, [{"run_id": run.pk, "record_id": inserted.pk}])
    # A unique row again is left out, not an error.
    insert_values(
        SyncRunItem, [{"run_id": run.pk, "record_id": inserted.pk}], ignore_conflicts=True
    )
    (item,) = SyncRunItem.objects.filter(run=run)
    assert item.outcome == SyncRunItem._meta.get_field("outcome").get_default()
    assert item.finished_at is None
    with db.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM synclog_syncrunitem WHERE run_id = %s", [run.pk])
        assert cursor.fetchone() == (1,)


def test_updated_rows_take_their_own_values_and_the_shared_ones(org):
    connection = ConnectionFactory(org=org)
    first, second = (
        SyncRecordFactory(connection=connection),
        SyncRecordFactory(connection=connection, last_error_message="refused", claimed_by="w:1"),
    )
    untouched = SyncRecordFactory(connection=connection, claimed_by="w:2")
    first.external_id, second.external_id = "INV-1", "INV-2"
    update_rows(
        [first, second],
        ["external_id", "last_error_message", "claimed_by", "claimed_until", "status"],
        same={
            "last_error_message": "",
            "claimed_by": "",
            "claimed_until": None,
            "status": RecordStatus.COMPLETE,
        },
    )
    rows = SyncRecord.objects.in_bulk([first.pk, second.pk, untouched.pk])
    assert [rows[first.pk].external_id, rows[second.pk].external_id] == ["INV-1", "INV-2"]
    assert {rows[pk].last_error_message for pk in (first.pk, second.pk)} == {""}
    assert {rows[pk].claimed_by for pk in (first.pk, second.pk)} == {""}
    assert {rows[pk].status for pk in (first.pk, second.pk)} == {RecordStatus.COMPLETE}
    assert rows[untouched.pk].claimed_by == "w:2"  # only the rows given
    assert rows[untouched.pk].status == RecordStatus.PENDING
