"""Bulk re-sync's run and progress page: the summary and its links, several connections, query
counts, and a large selection prepared by a worker a chunk at a time."""

import re

import pytest
from django.urls import reverse

from documents.models import DocumentStatus
from synclog import services
from synclog.models import (
    RecordStatus,
    StatusCode,
    SyncRecord,
    SyncRun,
)
from synclog.services import runs as run_services
from tests.factories import CategoryFactory, DocumentFactory
from tests.ledger_fixtures import XeroBooks
from tests.synclog.bulk.conftest import approved, ids_of, progress_url, queries, start

# --- summary and its links -----------------------------------------------------------------------


def test_failures_are_listed_with_their_fix_and_link_to_the_documents(
    member_client, org, connection, drain, office
):
    travel = CategoryFactory(org=org, name="Travel", code="999")  # not in Xero's chart
    good = approved(org, 3, category=office)
    bad = approved(org, 2, prefix="T", category=travel)
    client = member_client()
    response = start(client, {"document_ids": ids_of(good + bad)})
    drain()
    run = SyncRun.objects.get()
    assert (run.pushed, run.failed, run.status_code) == (3, 2, StatusCode.CONFIGURATION)
    content = client.get(response.url).content.decode()
    assert "Category Travel has no Xero mapping" in content
    assert reverse("synclog:attention") in content
    tab = reverse("synclog:document-integrations", args=[bad[0].pk])
    assert f"{tab}?connection={connection.pk}" in content

    def listed(outcome):
        page = client.get(
            reverse("documents:list"), {"sync_run": str(run.public_id), "sync_outcome": outcome}
        ).context["page"]
        return {document.pk for document in page}

    assert listed("failed") == set(ids_of(bad))
    assert listed("pushed") == set(ids_of(good))
    assert listed("nothing_to_push") == set()
    both = client.get(reverse("documents:list"), {"sync_run": str(run.public_id)})
    assert len(both.context["page"]) == 5
    assert b"Showing the documents of one re-sync" in both.content


def test_a_second_bulk_of_unchanged_documents_is_nothing_to_push(
    member_client, org, connection, drain
):
    documents = approved(org, 3)
    client = member_client()
    start(client, {"document_ids": ids_of(documents)})
    drain()
    response = start(client, {"document_ids": ids_of(documents)})
    drain()
    run = SyncRun.objects.order_by("-id").first()
    assert (run.nothing_to_push, run.status_code) == (3, StatusCode.NOTHING_TO_PUSH)
    summary = re.sub(r"\s+", " ", client.get(response.url).content.decode())
    assert "<strong>3</strong> nothing to push" in summary


def test_several_connections_give_one_progress_page_for_all_runs(
    member_client, org, connection, drain, ledger
):
    XeroBooks(ledger).connect_org(org, name="Second Xero")
    documents = approved(org, 2)
    client = member_client()
    confirm = client.post(reverse("synclog:bulk-confirm"), {"document_ids": ids_of(documents)})
    names = b"<strong>Second Xero</strong> (Xero) and <strong>Xero</strong> (Xero)"
    assert names in confirm.content
    response = start(client, {"document_ids": ids_of(documents)})
    runs = list(SyncRun.objects.order_by("id"))
    assert len(runs) == 2
    assert response.url.startswith(progress_url(runs[0])) and "?run=" in response.url
    drain()
    content = client.get(response.url).content.decode()
    assert "4 of 4 ledger entries done" in content
    assert content.count('class="bulk-run"') == 2


# --- query counts --------------------------------------------------------------------------------


def test_starting_a_bulk_resync_does_a_fixed_number_of_queries(
    member_client, org, connection, enqueued
):
    client = member_client()
    few, many = approved(org, 5, prefix="F"), approved(org, 50, prefix="M")
    url = reverse("synclog:bulk-resync")
    assert queries(client, "post", url, {"document_ids": ids_of(many)}) == queries(
        client, "post", url, {"document_ids": ids_of(few)}
    )
    # Every document matching a filter: the same.
    approved(org, 5, prefix="G")
    approved(org, 50, prefix="N")

    def matching(prefix):
        return {"select_all_matching": "1", "filter_query": f"q={prefix}-"}

    assert queries(client, "post", url, matching("N")) == queries(
        client, "post", url, matching("G")
    )
    confirm = reverse("synclog:bulk-confirm")
    assert queries(client, "post", confirm, {"document_ids": ids_of(many)}) == queries(
        client, "post", confirm, {"document_ids": ids_of(few)}
    )


def test_progress_page_query_count_does_not_grow_with_items(
    member_client, org, connection, drain, office
):
    travel = CategoryFactory(org=org, name="Travel", code="999")
    client = member_client()

    def progress_queries(count, prefix):
        documents = approved(org, count, prefix=prefix, category=travel)
        documents += approved(org, count, prefix=f"{prefix}OK", category=office)
        response = start(client, {"document_ids": ids_of(documents)})
        drain()
        assert SyncRecord.objects.filter(status=RecordStatus.FAILED).exists()
        return queries(client, "get", response.url)

    assert progress_queries(5, "A") == progress_queries(50, "B")


def test_a_large_selection_is_answered_at_once_and_prepared_by_a_worker(
    member_client,
    org,
    other_org,
    connection,
    foreign_connection,
    drain,
    ledger,
    settings,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    """Above SYNC_PREPARE_IN_WORKER_OVER the page answers before any record is marked; the
    worker's preparation marks them (this organisation's only) and the batches follow."""
    from synclog import tasks

    settings.SYNC_PREPARE_IN_WORKER_OVER = 3
    mine = approved(org, 5)
    theirs = approved(other_org, 2, prefix="THEIRS")
    client = member_client()
    sent = []
    monkeypatch.setattr(
        tasks.sync_run_prepare,
        "apply_async",
        lambda args, queue=None: sent.append((args[0], queue)),
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = start(client, {"document_ids": ids_of(mine + theirs)})
    run = SyncRun.objects.get()
    assert run.preparing and run.total == 0
    assert not SyncRecord.objects.filter(run=run).exists()
    assert sent == [(run.pk, "interactive")]

    waiting = client.get(response.url)
    assert b"Preparing the re-sync of 5 documents" in waiting.content
    assert b'hx-trigger="every 1s"' in waiting.content

    services.sync_run_prepare(run_id=run.pk)
    assert services.sync_run_prepare(run_id=run.pk) is None  # a resent task changes nothing
    run.refresh_from_db()
    assert (run.preparing, run.total) == (False, 5)
    assert not SyncRecord.objects.filter(document__in=theirs, run=run).exists()
    drain()
    done = client.get(response.url)
    assert b"5 of 5 ledger entries done" in done.content
    assert len(ledger.invoices()) == 5


def test_a_preparation_lost_with_the_broker_is_resent_by_the_sweep(
    org, connection, enqueued, settings, django_capture_on_commit_callbacks, monkeypatch
):
    import datetime

    from django.utils import timezone

    from synclog import tasks

    settings.SYNC_PREPARE_IN_WORKER_OVER = 1
    documents = approved(org, 2)
    sent = []
    monkeypatch.setattr(
        tasks.sync_run_prepare,
        "apply_async",
        lambda args, queue=None: sent.append(args[0]),
    )
    (run,) = services.bulk_resync(org=org, document_ids=ids_of(documents), actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        services.sync_sweep()
    assert sent == []  # too young to be lost
    SyncRun.objects.filter(pk=run.pk).update(
        started_at=timezone.now() - datetime.timedelta(minutes=5)
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.sync_sweep()
    assert sent == [run.pk]


def test_a_large_selection_is_prepared_a_chunk_at_a_time_and_resumes_where_it_stopped(
    member_client,
    org,
    connection,
    drain,
    ledger,
    enqueued,
    settings,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    """Each chunk's records are marked and sent as it commits, so pushing starts before the
    whole selection is marked; a worker lost mid-way leaves the rest to the resent task, and the
    run ends only once every chunk is in (here the last chunk holds only a draft: it adds
    nothing, and the run ends with that chunk, its other entries having ended before)."""
    settings.SYNC_PREPARE_IN_WORKER_OVER = 3
    settings.SYNC_PREPARE_CHUNK = 2
    documents = approved(org, 4)
    draft = DocumentFactory(org=org, number="DRAFT-1", status=DocumentStatus.DRAFT)
    (run,) = services.bulk_resync(org=org, document_ids=ids_of(documents) + [draft.pk], actor=None)
    bulk_specs = run_services._bulk_specs
    chunks = []

    def worker_lost_at_the_third_chunk(chunk_documents, connection):
        chunks.append(1)
        if len(chunks) == 3:
            raise RuntimeError("the worker was killed")
        return bulk_specs(chunk_documents, connection)

    monkeypatch.setattr(run_services, "_bulk_specs", worker_lost_at_the_third_chunk)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        services.sync_run_prepare(run_id=run.pk)
    run.refresh_from_db()
    assert (run.preparing, run.selection_prepared, run.total) == (True, 4, 4)
    assert len({record_id for record_id, _, _ in enqueued}) == 4  # sent chunk by chunk

    drain()  # the first chunks' entries end while the run is still being prepared
    run.refresh_from_db()
    assert (run.pushed, run.finished_at) == (4, None)
    page = member_client().get(progress_url(run))
    assert b"Preparing the re-sync of 5 documents" in page.content

    monkeypatch.setattr(run_services, "_bulk_specs", bulk_specs)
    assert services.sync_run_prepare(run_id=run.pk) == run  # the sweep's resent task
    run.refresh_from_db()
    assert (run.preparing, run.total, run.pushed) == (False, 4, 4)
    assert run.finished_at is not None and run.status_code == StatusCode.SUCCESS
    assert len(ledger.invoices()) == 4
