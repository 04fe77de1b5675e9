"""The maintained Not pushed set (synclog.models.unpushed, migration 0018's triggers): after every
kind of write that can change it, it holds exactly what its definition says, the anti-join of the
syncable documents with the records of each collecting connection, and no other tenant's."""

import importlib
import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.db.models import Exists, OuterRef

from documents.models import Document, DocumentStatus
from integrations.models import Connection, ConnectionStatus, Provider
from synclog import rules
from synclog.models import RecordStatus, SyncRecord, UnpushedDocument
from synclog.rules import SYNCABLE_DOCUMENTS
from synclog.selectors import document_state
from synclog.selectors.document_state import (
    DocumentSyncState,
    connection_unpushed_document_count,
    connection_unpushed_documents,
    document_sync_states,
)
from tests.factories import DocumentFactory, OrganizationFactory, SyncRecordFactory

MIGRATION = importlib.import_module("synclog.migrations.0018_unpushed_documents")


def by_definition() -> set[tuple[int, int]]:
    """(connection, document) for every collecting connection and every syncable document of its
    organisation with no record on it: what the set must hold, read the slow way."""
    pairs = set()
    for ledger in Connection.objects.filter(status__in=rules.COLLECTING_STATUSES):
        records = SyncRecord.objects.filter(connection=ledger, document=OuterRef("pk"))
        documents = (
            Document.objects.filter(org_id=ledger.org_id)
            .filter(SYNCABLE_DOCUMENTS)
            .exclude(Exists(records))
        )
        pairs |= {(ledger.pk, pk) for pk in documents.values_list("pk", flat=True)}
    return pairs


def maintained() -> set[tuple[int, int]]:
    return set(UnpushedDocument.objects.values_list("connection_id", "document_id"))


def assert_maintained():
    assert maintained() == by_definition()


def connect(org, name="Xero", status=ConnectionStatus.ACTIVE):
    return Connection.objects.create(
        org=org, provider=Provider.XERO, name=name, status=status, tenant_name=f"{name} Ltd"
    )


def test_the_migration_tests_what_the_rules_say():
    """The triggers spell the rules out in SQL as they stood: a change of the rules needs a
    migration that writes the triggers again."""
    assert set(MIGRATION.SYNCABLE_STATUSES) == set(rules.SYNCABLE_STATUSES)
    assert set(MIGRATION.SYNCABLE_KINDS) == set(rules.ENTRY_TYPE_FOR_KIND)
    assert set(MIGRATION.COLLECTING_STATUSES) == set(rules.COLLECTING_STATUSES)


def test_every_write_keeps_the_set_to_its_definition(org, other_org):
    # Documents approved before anything is connected: no connection, nothing unpushed.
    before = [DocumentFactory(org=org, status=DocumentStatus.APPROVED) for _ in range(3)]
    draft = DocumentFactory(org=org, status=DocumentStatus.DRAFT)
    neighbour = DocumentFactory(org=other_org, status=DocumentStatus.APPROVED)
    assert maintained() == set()

    # A first connection: every syncable document of its organisation, none of the other's.
    xero = connect(org)
    assert maintained() == {(xero.pk, d.pk) for d in before}
    assert_maintained()
    theirs = connect(other_org, "Their Xero")
    assert (theirs.pk, neighbour.pk) in maintained()
    assert_maintained()

    # A record, made one at a time or in bulk, takes its pair out, on its connection only.
    SyncRecordFactory(connection=xero, document=before[0], status=RecordStatus.PENDING)
    SyncRecord.objects.bulk_create(
        [
            SyncRecordFactory.build(
                org=org, connection=xero, document=before[1], status=RecordStatus.FAILED
            )
        ]
    )
    assert maintained() - {(theirs.pk, neighbour.pk)} == {(xero.pk, before[2].pk)}
    assert_maintained()

    # A draft approved, and a draft voided, become syncable; approved to paid changes nothing.
    draft.status = DocumentStatus.APPROVED
    draft.save()
    Document.objects.filter(pk=before[2].pk).update(status=DocumentStatus.PAID)
    voided = DocumentFactory(org=org, status=DocumentStatus.DRAFT)
    Document.objects.filter(pk=voided.pk).update(status=DocumentStatus.VOID)
    assert {(xero.pk, draft.pk), (xero.pk, voided.pk)} <= maintained()
    assert_maintained()

    # A second ledger: every syncable document again, whatever the first one holds.
    myob = connect(org, "Second ledger")
    assert {d for c, d in maintained() if c == myob.pk} == {
        *(d.pk for d in before),
        draft.pk,
        voided.pk,
    }
    assert_maintained()

    # Disabled: its pairs go; a document approved meanwhile is in when it is enabled again.
    Connection.objects.filter(pk=myob.pk).update(status=ConnectionStatus.DISABLED)
    assert not any(c == myob.pk for c, _ in maintained())
    late = DocumentFactory(org=org, status=DocumentStatus.APPROVED)
    assert (myob.pk, late.pk) not in maintained()
    assert_maintained()
    myob.status = ConnectionStatus.ACTIVE
    myob.save()
    assert (myob.pk, late.pk) in maintained()
    assert_maintained()
    # Waiting for a reconnect still collects: nothing moves.
    unchanged = maintained()
    Connection.objects.filter(pk=myob.pk).update(status=ConnectionStatus.NEEDS_REAUTH)
    assert maintained() == unchanged

    # Back to a draft (a status that does not sync), deleted, and a connection deleted.
    Document.objects.filter(pk=late.pk).update(status=DocumentStatus.AWAITING_APPROVAL)
    assert not any(d == late.pk for _, d in maintained())
    Document.objects.get(pk=draft.pk).delete()
    assert not any(d == draft.pk for _, d in maintained())
    assert_maintained()
    Connection.objects.get(pk=myob.pk).delete()
    assert not any(c == myob.pk for c, _ in maintained())
    assert_maintained()

    # And the other organisation's pair was never touched by any of it.
    assert (theirs.pk, neighbour.pk) in maintained()


@pytest.mark.parametrize("probe_limit", [10_000, 1])
def test_the_filter_and_the_prompt_read_the_set(
    org, other_org, django_assert_max_num_queries, monkeypatch, probe_limit
):
    """Few documents not pushed are probed by key (an array of their ids); more than
    UNPUSHED_PROBE_LIMIT are joined: either way the same documents."""
    monkeypatch.setattr(document_state, "UNPUSHED_PROBE_LIMIT", probe_limit)
    xero = connect(org)
    DocumentFactory(org=org, status=DocumentStatus.APPROVED)  # a second one not pushed
    unpushed = DocumentFactory(org=org, status=DocumentStatus.APPROVED)
    pushed = DocumentFactory(org=org, status=DocumentStatus.APPROVED)
    SyncRecordFactory(connection=xero, document=pushed, status=RecordStatus.COMPLETE)
    DocumentFactory(org=other_org, status=DocumentStatus.APPROVED)
    connect(other_org)

    states = document_sync_states(org=org)
    not_pushed = Document.objects.for_org(org).filter(
        states.condition(DocumentSyncState.NOT_PUSHED)
    )
    probed = "= ANY(ARRAY(SELECT" in str(not_pushed.query)
    assert probed == (probe_limit > 1)
    unpushed, second = not_pushed.order_by("pk")
    assert set(not_pushed) == {unpushed, second}
    status = Document.objects.for_org(org).annotate(state=states.expression())
    assert dict(status.values_list("pk", "state")) == {
        unpushed.pk: DocumentSyncState.NOT_PUSHED,
        second.pk: DocumentSyncState.NOT_PUSHED,
        pushed.pk: DocumentSyncState.IN_LEDGER,
    }
    with django_assert_max_num_queries(1):
        assert connection_unpushed_document_count(connection=xero) == 2
    assert set(connection_unpushed_documents(connection=xero)) == {unpushed, second}


def waiting_for_an_advisory_lock(deadline_seconds: float = 10.0) -> bool:
    """Whether another session waits on an advisory lock, before the deadline."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            )
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("connection_first", [False, True])
@pytest.mark.django_db(transaction=True)
def test_a_document_approved_while_its_ledger_is_connected_is_not_missed(connection_first):
    """Two transactions at once, each blind to the other's writes until it commits: the approval
    and the connection take the organisation's lock (shared, exclusive), so the second to take
    it waits, then reads what the first wrote."""
    org = OrganizationFactory()
    document = DocumentFactory(org=org, status=DocumentStatus.AWAITING_APPROVAL)
    ledger = connect(org, status=ConnectionStatus.DISABLED)
    first_wrote, commit_first = threading.Event(), threading.Event()

    def approve():
        Document.objects.filter(pk=document.pk).update(status=DocumentStatus.APPROVED)

    def enable():
        Connection.objects.filter(pk=ledger.pk).update(status=ConnectionStatus.ACTIVE)

    first, second = (enable, approve) if connection_first else (approve, enable)

    def first_transaction():
        try:
            with transaction.atomic():
                first()
                first_wrote.set()
                commit_first.wait(timeout=20)
        finally:
            connections.close_all()

    def second_transaction():
        try:
            with transaction.atomic():
                second()
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=first_transaction),
        threading.Thread(target=second_transaction),
    ]
    threads[0].start()
    assert first_wrote.wait(timeout=10)
    threads[1].start()
    try:
        assert waiting_for_an_advisory_lock(), "the second transaction did not wait for the first"
    finally:
        commit_first.set()
        for thread in threads:
            thread.join(timeout=20)
    assert not any(thread.is_alive() for thread in threads)
    assert maintained() == {(ledger.pk, document.pk)}
