"""Requires attention's maintained counts (synclog.services.attention_summary) equal a recount
from the records after every transition of the engine: failed, failed again for another cause,
retried, pushed, resolved by hand, deleted with its document; and for two tenants at once."""

import hashlib

import pytest
from django.core.paginator import Paginator
from django.urls import reverse

from documents import services as document_services
from documents.models import Document
from integrations.models import ConnectionStatus
from synclog import services
from synclog.models import (
    AttentionChange,
    AttentionGroupCount,
    EntryType,
    RecordStatus,
    StatusCode,
    SyncRecord,
)
from synclog.selectors import attention as selectors
from tests.factories import CategoryFactory, DocumentFactory
from tests.synclog.attention.conftest import failed_record


def assert_maintained_equals_recount(org) -> list[dict]:
    """Fold, then the maintained groups (in the page's order) and the tab's count must be the
    recount's; returns the groups."""
    services.attention_fold(org_id=org.pk)
    assert not AttentionChange.objects.filter(org_id=org.pk).exists()
    maintained = list(selectors.AttentionGroupRows(org=org)[0:10_000])
    recounted = list(selectors.attention_groups(org=org))
    assert maintained == recounted
    assert selectors.AttentionGroupRows(org=org).count() == len(recounted)
    assert selectors.attention_document_count(org=org) == selectors.attention_document_recount(
        org=org
    )
    return maintained


def test_the_engines_transitions_keep_the_counts_equal_to_a_recount(
    org, other_org, clerk, connection, drain, office
):
    from integrations import services as integration_services

    travel = CategoryFactory(org=org, name="Travel", code="493")
    documents = [DocumentFactory(org=org, category=c) for c in (office, travel, travel, travel)]
    for document in documents:
        document_services.document_approve(document=document, actor=clerk)
    drain()
    # Failed: three bills for one cause (Travel has no mapping), in one group.
    (group,) = assert_maintained_equals_recount(org)
    assert (group["count"], group["document_count"], group["n_bill"]) == (3, 3, 3)
    assert (group["group_code"], group["n_invoice"]) == (StatusCode.CONFIGURATION, 0)
    assert assert_maintained_equals_recount(other_org) == []

    # Resolved by hand: one leaves the group.
    first = SyncRecord.objects.get(document=documents[1])
    services.sync_status_update(
        org=org, record_ids=[first.pk], to_status=RecordStatus.COMPLETE, actor=clerk
    )
    (group,) = assert_maintained_equals_recount(org)
    assert group["count"] == 2

    # Deleted with its document (a cascade the engine does not see).
    Document.objects.filter(pk=documents[2].pk).delete()
    (group,) = assert_maintained_equals_recount(org)
    assert group["count"] == 1

    # Failed again for another cause (the same record moves to another group), then retried
    # (Pending: out of every group), then pushed after the fix (Complete).
    last = SyncRecord.objects.get(document=documents[3])
    SyncRecord.objects.filter(pk=last.pk).update(last_error_message="Another cause.")
    (group,) = assert_maintained_equals_recount(org)
    assert group["group_digest"] == hashlib.md5(b"Another cause.").hexdigest()
    accounts = integration_services.connector_for(connection).list_accounts()
    integration_services.mappings_auto_map_accounts(connection=connection, accounts=accounts)
    services.retry_failed_records(
        org=org, connection=connection, document_ids=[documents[3].pk], actor=clerk
    )
    assert SyncRecord.objects.get(pk=last.pk).status == RecordStatus.PENDING
    assert assert_maintained_equals_recount(org) == []
    drain()
    assert SyncRecord.objects.get(pk=last.pk).status == RecordStatus.COMPLETE
    assert assert_maintained_equals_recount(org) == []
    assert selectors.attention_document_count(org=org) == 0


def test_two_tenants_and_a_bill_with_its_payment_in_one_group(org, other_org, category):
    from tests.factories import ConnectionFactory

    mine, theirs = ConnectionFactory(org=org), ConnectionFactory(org=other_org)
    message = "The ledger's organisation is gone."
    bills = [DocumentFactory(org=org, category=category) for _ in range(3)]
    for document in bills:
        failed_record(document, mine, code=StatusCode.ORG_DELETED, message=message)
    SyncRecord.objects.create(
        org=org,
        connection=mine,
        document=bills[0],
        entry_type=EntryType.BILL_PAYMENT,
        status=RecordStatus.FAILED,
        last_error_code=StatusCode.ORG_DELETED,
        last_error_message=message,
    )
    foreign = DocumentFactory(org=other_org)
    failed_record(foreign, theirs, code=StatusCode.ORG_DELETED, message=message)
    (group,) = assert_maintained_equals_recount(org)
    assert (group["count"], group["document_count"]) == (4, 3)
    assert (group["n_bill"], group["n_bill_payment"]) == (3, 1)
    assert selectors.attention_document_count(org=org) == 3
    (foreign_group,) = assert_maintained_equals_recount(other_org)
    assert (foreign_group["count"], foreign_group["connection_id"]) == (1, theirs.pk)
    # A QuerySet.update of many records at once (Pending again): every group emptied.
    SyncRecord.objects.filter(org=org).update(status=RecordStatus.PENDING)
    assert assert_maintained_equals_recount(org) == []
    assert selectors.attention_document_count(org=org) == 0
    assert len(assert_maintained_equals_recount(other_org)) == 1


def test_waiting_groups_take_their_place_by_size_among_the_maintained(org, category):
    from tests.factories import ConnectionFactory

    failing = ConnectionFactory(org=org)
    waiting = ConnectionFactory(org=org, status=ConnectionStatus.NEEDS_REAUTH)
    for size in (5, 3, 1):
        for _ in range(size):
            failed_record(DocumentFactory(org=org, category=category), failing, message=f"{size}")
    for _ in range(4):
        SyncRecord.objects.create(
            org=org,
            connection=waiting,
            document=DocumentFactory(org=org, category=category),
            entry_type=EntryType.BILL,
            status=RecordStatus.PENDING,
        )
    groups = assert_maintained_equals_recount(org)
    assert [g["count"] for g in groups] == [5, 4, 3, 1]
    assert groups[1]["group_digest"] == selectors.WAITING_DIGEST
    # Every page of two is the recount's slice.
    paginator = Paginator(selectors.AttentionGroupRows(org=org), 2)
    assert paginator.count == 4
    pages = [list(paginator.page(n).object_list) for n in paginator.page_range]
    assert pages == [groups[0:2], groups[2:4]]
    assert selectors.attention_document_count(org=org) == 13


@pytest.mark.parametrize("page_name", ["synclog:attention", "documents:list"])
def test_the_pages_fold_before_they_read(org, clerk, category, client_for, page_name):
    from tests.factories import ConnectionFactory

    connection = ConnectionFactory(org=org)
    for _ in range(2):
        failed_record(DocumentFactory(org=org, category=category), connection)
    assert AttentionChange.objects.filter(org_id=org.pk).count() == 2
    response = client_for(clerk).get(reverse(page_name))
    assert response.status_code == 200
    assert response.context["attention_count"] == 2
    assert not AttentionChange.objects.filter(org_id=org.pk).exists()


def test_the_sweep_folds_every_organisation(org, other_org):
    from synclog.tasks import sync_sweep
    from tests.factories import ConnectionFactory

    for tenant in (org, other_org):
        failed_record(DocumentFactory(org=tenant), ConnectionFactory(org=tenant))
    sync_sweep()
    assert not AttentionChange.objects.exists()
    assert AttentionGroupCount.objects.filter(org_id=other_org.pk).get().count == 1
