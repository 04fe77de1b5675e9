"""Bulk re-sync from the documents list: selection, confirmation, the run, its progress page."""

import re
import uuid

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import permissions
from accounts.models import Role
from accounts.permissions import Perm
from documents.models import Category, DocumentStatus
from integrations.models import Connection, Provider
from synclog import services
from synclog.models import (
    RecordStatus,
    StatusCode,
    SyncRecord,
    SyncRun,
    SyncRunItem,
    Trigger,
)
from synclog.services import runs as run_services
from tests.factories import CategoryFactory, DocumentFactory, MembershipFactory
from tests.ledger_fixtures import XeroBooks
from tests.tenancy import assert_not_found_for_other_tenant

ROLES = [Role.ADMIN, Role.AP_CLERK, Role.ACCOUNTING_SYNC, Role.SUPPORT]


def approved(org, count, prefix="B", **kwargs):
    # Booked to Office (429, mapped by the `connection` fixture) unless told otherwise.
    if "category" not in kwargs:
        kwargs["category"], _ = Category.objects.get_or_create(
            org=org, code="429", defaults={"name": "Office"}
        )
    return [
        DocumentFactory(
            org=org, number=f"{prefix}-{index:03d}", status=DocumentStatus.APPROVED, **kwargs
        )
        for index in range(count)
    ]


def ids_of(documents):
    return [document.pk for document in documents]


@pytest.fixture
def member_client(client, org):
    def login(role=Role.AP_CLERK):
        client.force_login(MembershipFactory(org=org, role=role).user)
        return client

    return login


@pytest.fixture
def foreign_connection(other_org):
    return Connection.objects.create(org=other_org, provider=Provider.XERO, name="Their Xero")


def start(client, data):
    return client.post(reverse("synclog:bulk-resync"), data)


def progress_url(run):
    return reverse("synclog:bulk-progress", args=[run.public_id])


# --- roles ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_every_role_that_may_resync_can_bulk_resync_and_follow_it(
    member_client, org, connection, role
):
    client = member_client(role)
    documents = approved(org, 2)
    list_page = client.get(reverse("documents:list"))
    assert b"data-bulk-row" in list_page.content
    confirm = client.post(reverse("synclog:bulk-confirm"), {"document_ids": ids_of(documents)})
    assert confirm.status_code == 200
    response = start(client, {"document_ids": ids_of(documents)})
    run = SyncRun.objects.get()
    assert response.status_code == 302
    assert response.url == progress_url(run)
    assert client.get(response.url).status_code == 200


def test_without_resync_no_selection_is_offered_and_actions_are_refused(
    member_client, org, connection, monkeypatch
):
    # No role lacks RESYNC today; the gate must hold for one that would.
    monkeypatch.setitem(
        permissions.ROLE_PERMISSIONS, Role.SUPPORT, frozenset({Perm.VIEW_DOCUMENTS})
    )
    client = member_client(Role.SUPPORT)
    (document,) = approved(org, 1)
    (run,) = services.bulk_resync(org=org, document_ids=[document.pk], actor=None)
    list_page = client.get(reverse("documents:list"))
    assert list_page.status_code == 200
    assert b"data-bulk-row" not in list_page.content
    assert b"bulk-form" not in list_page.content
    data = {"document_ids": [document.pk]}
    assert client.post(reverse("synclog:bulk-confirm"), data).status_code == 403
    assert start(client, data).status_code == 403
    assert SyncRun.objects.count() == 1
    page = client.get(progress_url(run))
    assert page.status_code == 302 and "/sign-in/" in page.url


def test_anonymous_is_sent_to_sign_in(client, org, connection):
    (document,) = approved(org, 1)
    response = client.get(reverse("synclog:bulk-progress", args=[uuid.uuid4()]))
    assert response.status_code == 302 and "/sign-in/" in response.url
    assert start(client, {"document_ids": [document.pk]}).status_code == 403
    assert not SyncRun.objects.exists()


# --- selection -----------------------------------------------------------------------------------


def test_list_offers_row_checkboxes_select_all_and_the_bulk_bar(member_client, org):
    approved(org, 30)
    content = member_client().get(reverse("documents:list"), {"q": "B-"}).content.decode()
    assert content.count('name="document_ids"') == 25
    assert "data-bulk-page" in content
    assert "Select all 30 documents matching this filter" in content
    assert 'name="filter_query" value="q=B-"' in content
    assert 'id="bulk-dialog"' in content


def test_bulk_of_20_documents_makes_a_run_of_20_items_then_a_summary(
    member_client, org, connection, drain, ledger
):
    client = member_client()
    documents = approved(org, 20)
    response = start(client, {"document_ids": ids_of(documents)})
    run = SyncRun.objects.get()
    assert (run.trigger, run.total) == (Trigger.BULK, 20)
    assert SyncRunItem.objects.filter(run=run).count() == 20

    running = client.get(response.url)
    assert b"Re-sync in progress" in running.content
    assert b'hx-trigger="every 1s"' in running.content
    assert b"0 of 20 ledger entries done" in running.content

    drain()
    poll = client.get(response.url, headers={"HX-Request": "true"})
    content = poll.content.decode()
    assert "<html" not in content
    assert "hx-trigger" not in content  # finished: the polling stops
    assert "Re-sync finished" in content
    assert "20 of 20 ledger entries done" in content
    summary = re.sub(r"\s+", " ", content)
    assert "<strong>20</strong> synced" in summary
    assert "<strong>0</strong> nothing to push" in summary
    assert "<strong>0</strong> failed" in summary
    assert f"sync_run={run.public_id}&amp;sync_outcome=pushed" in content
    assert len(ledger.invoices()) == 20


def test_select_all_matching_reapplies_the_filter_on_the_server(
    member_client, org, connection, enqueued
):
    client = member_client()
    wanted = approved(org, 30, prefix="TR")
    others = approved(org, 3, prefix="OTHER")
    drafts = [
        DocumentFactory(org=org, number=f"TR-D{index}", status=DocumentStatus.DRAFT)
        for index in range(2)
    ]
    # Ids sent along are ignored in this mode: the filter decides.
    data = {
        "select_all_matching": "1",
        "filter_query": "q=TR-",
        "document_ids": [others[0].pk],
    }
    confirm = client.post(reverse("synclog:bulk-confirm"), data, headers={"HX-Request": "true"})
    text = re.sub(r"\s+", " ", confirm.content.decode())
    assert "Re-sync 30 documents?" in text
    assert "32 documents selected (every document matching the filter)" in text
    assert "<strong>Xero</strong> (Xero)" in text
    assert "2 will be skipped: 2 drafts or awaiting approval" in text

    response = start(client, data)
    run = SyncRun.objects.get()
    synced = set(SyncRecord.objects.filter(run=run).values_list("document_id", flat=True))
    assert synced == set(ids_of(wanted))
    assert not SyncRecord.objects.filter(document__in=others + drafts).exists()
    page = client.get(response.url).content.decode()
    assert "Skipped:" in page and "2 drafts or awaiting approval" in page


def test_select_all_matching_with_a_filter_that_is_no_longer_valid_is_a_form_error(
    member_client, org, connection
):
    approved(org, 2)
    data = {"select_all_matching": "1", "filter_query": "status=nonsense"}
    response = start(member_client(), data)
    assert response.status_code == 400
    assert b"no longer valid" in response.content
    assert not SyncRun.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, b"Select at least one document."),
        ({"document_ids": ["abc"]}, b"The selection is not valid"),
        ({"document_ids": [str(n) for n in range(1, 600)]}, b"at most 500"),
    ],
)
def test_bad_selections_are_form_errors(member_client, org, connection, data, message):
    response = start(member_client(), data)
    assert response.status_code == 400
    assert message in response.content
    assert not SyncRun.objects.exists()


def test_drafts_only_cannot_be_resynced(member_client, org, connection):
    draft = DocumentFactory(org=org, status=DocumentStatus.DRAFT)
    client = member_client()
    confirm = client.post(
        reverse("synclog:bulk-confirm"),
        {"document_ids": [draft.pk]},
        headers={"HX-Request": "true"},
    )
    assert confirm.status_code == 200  # shown in the dialog
    assert b"Nothing to re-sync" in confirm.content
    assert b"drafts and documents awaiting approval never sync" in confirm.content
    assert start(client, {"document_ids": [draft.pk]}).status_code == 400
    assert not SyncRun.objects.exists()


def test_without_a_connection_nothing_starts(member_client, org):
    (document,) = approved(org, 1)
    response = start(member_client(), {"document_ids": [document.pk]})
    assert response.status_code == 400
    assert b"No ledger is connected" in response.content


# --- tenant isolation ----------------------------------------------------------------------------


def test_another_organisations_ids_are_ignored(
    member_client, org, other_org, connection, foreign_connection
):
    mine = approved(org, 2)
    theirs = approved(other_org, 2, prefix="THEIRS")
    client = member_client()
    start(client, {"document_ids": ids_of(mine + theirs)})
    run = SyncRun.objects.get()
    assert run.total == 2
    assert not SyncRecord.objects.filter(document__in=theirs).exists()
    assert not SyncRun.objects.filter(org=other_org).exists()

    only_theirs = start(client, {"document_ids": ids_of(theirs)})
    assert only_theirs.status_code == 400
    assert b"None of the selected documents exists" in only_theirs.content
    assert SyncRun.objects.count() == 1


def test_another_organisations_run_is_not_found(
    member_client, org, other_org, connection, foreign_connection
):
    foreign_run = SyncRun.objects.create(
        org=other_org, connection=foreign_connection, trigger=Trigger.BULK
    )
    client = member_client()
    assert_not_found_for_other_tenant(client, "get", progress_url(foreign_run))
    (document,) = approved(org, 1)
    start(client, {"document_ids": [document.pk]})
    mine = SyncRun.objects.get(org=org)
    # Nor can it ride along with one of ours.
    assert_not_found_for_other_tenant(
        client, "get", f"{progress_url(mine)}?run={foreign_run.public_id}"
    )
    assert client.get(f"{progress_url(mine)}?run=not-a-uuid").status_code == 404
    # The summary's links filter by run: another organisation's run matches none of our rows.
    listed = client.get(
        reverse("documents:list"), {"sync_run": str(foreign_run.public_id)}
    ).context["page"]
    assert list(listed) == []


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


def _queries(client, method, url, data=None):
    with CaptureQueriesContext(db) as captured:
        response = getattr(client, method)(url, data or {})
    assert response.status_code in (200, 302), response.content[:500]
    return len(captured)


def test_starting_a_bulk_resync_does_a_fixed_number_of_queries(
    member_client, org, connection, enqueued
):
    client = member_client()
    few, many = approved(org, 5, prefix="F"), approved(org, 50, prefix="M")
    url = reverse("synclog:bulk-resync")
    assert _queries(client, "post", url, {"document_ids": ids_of(many)}) == _queries(
        client, "post", url, {"document_ids": ids_of(few)}
    )
    # Every document matching a filter: the same.
    approved(org, 5, prefix="G")
    approved(org, 50, prefix="N")

    def matching(prefix):
        return {"select_all_matching": "1", "filter_query": f"q={prefix}-"}

    assert _queries(client, "post", url, matching("N")) == _queries(
        client, "post", url, matching("G")
    )
    confirm = reverse("synclog:bulk-confirm")
    assert _queries(client, "post", confirm, {"document_ids": ids_of(many)}) == _queries(
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
        return _queries(client, "get", response.url)

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
