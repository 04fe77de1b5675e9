"""Bulk re-sync from the documents list: who may start one, the selection (ids or every document
matching the filter), its errors, and another organisation's ids and runs."""

import re
import uuid

import pytest
from django.urls import reverse

from accounts import permissions
from accounts.models import Role
from accounts.permissions import Perm
from documents.models import DocumentStatus
from synclog import services
from synclog.models import (
    SyncRecord,
    SyncRun,
    SyncRunItem,
    Trigger,
)
from tests.factories import DocumentFactory
from tests.synclog.bulk.conftest import ROLES, approved, ids_of, progress_url, start
from tests.tenancy import assert_not_found_for_other_tenant

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


def test_select_all_matching_a_filter_that_matches_nothing_now_says_so(
    member_client, org, connection
):
    """Every document of the list's Not pushed filter, say: once they are pushed, nothing
    matches, which is not "the selected documents no longer exist"."""
    approved(org, 2)
    data = {"select_all_matching": "1", "filter_query": "status=void"}
    confirm = member_client().post(reverse("synclog:bulk-confirm"), data)
    assert confirm.status_code == 400
    assert b"No document matches this selection now" in confirm.content
    assert b"exists any more" not in confirm.content


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
