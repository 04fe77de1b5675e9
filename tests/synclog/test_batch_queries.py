"""A bulk batch's cost does not grow with its size: its queries are a fixed set (issue 13 item 4),
and what a batch makes once (its connection, contacts, categories) still reaches every entry."""

from decimal import Decimal

from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from documents import services as document_services
from documents.models import DocumentLine
from synclog import services
from synclog.models import (
    Operation,
    RecordStatus,
    RunItemOutcome,
    StatusCode,
    SyncRecord,
    SyncRunItem,
)
from tests.factories import CategoryFactory, ContactFactory, DocumentFactory
from tests.synclog.conftest import run_records

# What the batch that ends a run of new bills costs at most (PostgreSQL): the connection; the
# claim (UPDATE … RETURNING); documents; contacts; attachments; mappings; lines; categories;
# records linked elsewhere; the unknown-outcome mark before the call; the end in one transaction
# (its savepoint here, versions, facts, attempts, run items, run counts, items left) and the
# release: 19 for every batch. The run's end reads and saves it and asks for webhook
# subscribers: 5 more.
NEW_BATCH_QUERIES = 24
# Unchanged entries make no call: no check of other connections, no unknown-outcome mark.
UNCHANGED_BATCH_QUERIES = 22


def _bills(org, clerk, count, *, prefix, category, contact=None):
    documents = []
    for index in range(count):
        extra = {"contact": contact} if contact else {}
        document = DocumentFactory(
            org=org, number=f"{prefix}-{index:03d}", category=category, **extra
        )
        document_services.document_approve(document=document, actor=clerk)
        documents.append(document)
    return documents


def _push(org, clerk, documents):
    (run,) = services.bulk_resync(org=org, document_ids=[d.pk for d in documents], actor=clerk)
    ids = run_records(run)
    with CaptureQueriesContext(db) as captured:
        assert services.sync_batch_push(record_ids=ids, worker="w") == {}
    run.refresh_from_db()
    return run, len(captured)


def test_a_batch_of_new_bills_costs_the_same_queries_whatever_its_size(
    org, clerk, connection, office, ledger, django_assert_max_num_queries
):
    small_run, small = _push(org, clerk, _bills(org, clerk, 3, prefix="SMALL", category=office))
    large = _bills(org, clerk, 25, prefix="LARGE", category=office)
    (run,) = services.bulk_resync(org=org, document_ids=[d.pk for d in large], actor=clerk)
    ids = run_records(run)
    with django_assert_max_num_queries(NEW_BATCH_QUERIES) as captured:
        assert services.sync_batch_push(record_ids=ids, worker="w") == {}
    assert len(captured) == small
    assert len(ledger.invoices()) == 28
    run.refresh_from_db()
    assert (run.status_code, run.pushed, run.failed, run.finished_at is not None) == (
        StatusCode.SUCCESS,
        25,
        0,
        True,
    )
    assert set(
        SyncRunItem.objects.filter(run__in=[run, small_run]).values_list("outcome", "status_code")
    ) == {(RunItemOutcome.PUSHED, StatusCode.SUCCESS)}


def test_an_unchanged_batch_costs_the_same_queries_whatever_its_size(
    org, clerk, connection, office, ledger, django_assert_max_num_queries
):
    small = _bills(org, clerk, 3, prefix="SMALL", category=office)
    large = _bills(org, clerk, 25, prefix="LARGE", category=office)
    _push(org, clerk, small)
    _push(org, clerk, large)
    calls_before = ledger.call_count()
    _, small_again = _push(org, clerk, small)
    (run,) = services.bulk_resync(org=org, document_ids=[d.pk for d in large], actor=clerk)
    ids = run_records(run)
    with django_assert_max_num_queries(UNCHANGED_BATCH_QUERIES) as captured:
        assert services.sync_batch_push(record_ids=ids, worker="w") == {}
    assert len(captured) == small_again
    assert ledger.call_count() == calls_before
    run.refresh_from_db()
    assert (run.status_code, run.nothing_to_push, run.pushed) == (StatusCode.NOTHING_TO_PUSH, 25, 0)
    records = SyncRecord.objects.filter(run=run)
    assert {r.status for r in records} == {RecordStatus.COMPLETE}
    assert {r.attempts.order_by("-pk").first().operation for r in records} == {
        Operation.NOTHING_TO_PUSH
    }


def test_shared_contacts_and_categories_reach_every_entry_of_a_batch(
    org, clerk, connection, office, ledger_books, ledger
):
    """Contacts and categories are made once a batch, not joined per record: each entry still
    carries its own contact, its document's category and a line's own category."""
    shared = ContactFactory(org=org, name="Shared Supplies")
    travel = CategoryFactory(org=org, name="Travel", code="493")
    ledger_books.map_categories(connection)
    documents = _bills(org, clerk, 3, prefix="SHARED", contact=shared, category=office)
    documents += _bills(org, clerk, 2, prefix="OWN", category=travel)
    split = documents[0]
    DocumentLine.objects.filter(document=split).update(
        unit_amount=Decimal("60.00"), amount=Decimal("60.00")
    )
    DocumentLine.objects.create(
        document=split,
        position=2,
        description="Taxi",
        quantity=Decimal("1"),
        unit_amount=Decimal("40.00"),
        amount=Decimal("40.00"),
        category=travel,
    )
    _push(org, clerk, documents)
    invoices = {invoice["InvoiceNumber"]: invoice for invoice in ledger.invoices()}
    assert len(invoices) == 5
    for document in documents:
        invoice = invoices[document.number]
        assert invoice["Contact"]["Name"] == document.contact.name
        codes = [line["AccountCode"] for line in invoice["LineItems"]]
        assert codes == (["429", "493"] if document == split else [document.category.code])
