"""Bulk re-sync in the browser: select every document matching a filter, confirm, follow the
progress page until it shows its summary by itself.

The ledger is the Xero emulator in this process (the `ledger` fixture routes every connector to
it, the live server thread included). Nothing is sent to a broker: the test plays the worker and
pushes the Pending records itself while the page polls.
"""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from documents import selectors as document_selectors
from documents import views as document_views
from documents.models import DocumentStatus
from integrations.models import Connection, Provider
from synclog import services
from synclog.models import SyncRecord, SyncRun, Trigger
from synclog.services import runs as run_services
from tests.browser.conftest import connect_xero, push_pending
from tests.factories import CategoryFactory, ContactFactory, DocumentFactory, MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_clerk_resyncs_every_document_matching_a_filter_and_sees_the_summary(
    page, live_server, screenshot, sign_in_as, ledger, enqueued
):
    membership = MembershipFactory(role=Role.AP_CLERK, org__name="Acme Inc")
    org = membership.org
    office = CategoryFactory(org=org, name="Office", code="429")
    vendor = ContactFactory(org=org, name="Travel Agency")
    wanted = [
        DocumentFactory(
            org=org,
            contact=vendor,
            category=office,
            number=f"TR-{index:03d}",
            status=DocumentStatus.APPROVED,
        )
        for index in range(20)
    ]
    # Matching the filter but never synced (drafts, awaiting approval): skipped and said so.
    for index in range(8):
        DocumentFactory(
            org=org,
            contact=vendor,
            category=office,
            number=f"TR-9{index:02d}",
            status=DocumentStatus.DRAFT if index % 2 else DocumentStatus.AWAITING_APPROVAL,
        )
    # Not matching the filter: must not be part of the run.
    others = [
        DocumentFactory(org=org, category=office, number=f"OTHER-{i}", status="approved")
        for i in range(3)
    ]
    connect_xero(org, ledger)

    sign_in_as(membership.user.username)
    page.get_by_label("Number").fill("TR-")
    expect(page.locator("#document-results")).to_contain_text("28 documents")
    expect(page).to_have_url(re.compile(r"q=TR-"))
    bar = page.get_by_role("region", name="Bulk actions")
    expect(bar).to_be_hidden()

    # Tick the page, then widen the selection to the whole filter (28 over two pages).
    page.get_by_label("Select all documents on this page").check()
    expect(bar).to_be_visible()
    expect(bar).to_contain_text("25 selected")
    page.get_by_role("button", name="Select all 28 documents matching this filter").click()
    expect(bar).to_contain_text("All 28 documents matching this filter are selected")
    screenshot("bulk-selection")

    page.get_by_role("button", name="Re-sync", exact=True).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text("Re-sync 20 documents?")
    expect(dialog).to_contain_text("28 documents selected (every document matching the filter)")
    expect(dialog).to_contain_text("Xero (Xero)")
    expect(dialog).to_contain_text("8 will be skipped: 8 drafts or awaiting approval")
    screenshot("bulk-confirm-dialog")
    assert not SyncRun.objects.exists()

    dialog.get_by_role("button", name="Re-sync 20 documents").click()
    expect(page).to_have_url(re.compile(r"/sync/bulk/[0-9a-f-]{36}/$"))
    expect(page.get_by_role("heading", name="Re-sync in progress…")).to_be_visible()
    expect(page.locator("#bulk-progress-count")).to_contain_text("0 of 20 ledger entries done")
    expect(page.locator("#bulk-skipped")).to_contain_text("8 drafts or awaiting approval")
    screenshot("bulk-progress-running")

    run = SyncRun.objects.get()
    assert (run.trigger, run.total, run.actor) == (Trigger.BULK, 20, membership.user)
    synced = set(SyncRecord.objects.filter(run=run).values_list("document_id", flat=True))
    assert synced == {document.pk for document in wanted}
    assert not SyncRecord.objects.filter(document__in=others).exists()

    # The worker's part; the page notices by polling, with no reload.
    push_pending(rounds=5)
    expect(page.get_by_role("heading", name="Re-sync finished")).to_be_visible()
    expect(page.locator("#bulk-progress-count")).to_contain_text("20 of 20 ledger entries done")
    summary = page.locator("#bulk-summary-1")
    expect(summary).to_contain_text("20 synced")
    expect(summary).to_contain_text("0 nothing to push")
    expect(summary).to_contain_text("0 failed")
    screenshot("bulk-progress-summary")
    assert len(ledger.invoices()) == 20

    # "20 synced" lists exactly those documents.
    summary.get_by_role("link", name="20 synced").click()
    expect(page.locator("#sync-run-filter")).to_contain_text("Showing the documents of one")
    expect(page.locator("#document-results")).to_contain_text("20 documents")
    expect(page.locator("#document-table")).not_to_contain_text("OTHER-")


def test_a_large_selection_shows_preparing_then_its_progress(
    page, live_server, screenshot, sign_in_as, ledger, enqueued, monkeypatch, settings
):
    """Above SYNC_PREPARE_IN_WORKER_OVER the answer comes before the records are marked: the page
    says it is preparing, then follows the run by itself once a worker has prepared it."""
    settings.SYNC_PREPARE_IN_WORKER_OVER = 5
    monkeypatch.setattr(run_services, "sync_runs_prepare_enqueue", lambda run_ids: None)
    membership = MembershipFactory(role=Role.AP_CLERK, org__name="Acme Inc")
    org = membership.org
    office = CategoryFactory(org=org, name="Office", code="429")
    for index in range(12):
        DocumentFactory(
            org=org, category=office, number=f"BIG-{index:03d}", status=DocumentStatus.APPROVED
        )
    connect_xero(org, ledger)

    sign_in_as(membership.user.username)
    page.get_by_label("Select all documents on this page").check()
    page.get_by_role("button", name="Re-sync", exact=True).click()
    page.get_by_role("dialog").get_by_role("button", name="Re-sync 12 documents").click()
    expect(page).to_have_url(re.compile(r"/sync/bulk/[0-9a-f-]{36}/$"))
    expect(page.locator("#bulk-progress-count")).to_contain_text(
        "Preparing the re-sync of 12 documents"
    )
    expect(page.locator("#bulk-progress")).to_contain_text("Preparing: the entries to push")
    screenshot("bulk-progress-preparing")
    assert not SyncRecord.objects.exists()

    # The workers' part: prepare the run, then push; the page follows by polling.
    services.sync_run_prepare(run_id=SyncRun.objects.get().pk)
    expect(page.locator("#bulk-progress-count")).to_contain_text("0 of 12 ledger entries done")
    push_pending(rounds=5)
    expect(page.get_by_role("heading", name="Re-sync finished")).to_be_visible()
    expect(page.locator("#bulk-progress-count")).to_contain_text("12 of 12 ledger entries done")
    assert len(ledger.invoices()) == 12


def test_a_filter_too_large_to_count_pages_by_cursor_and_selects_every_match(
    page, live_server, sign_in_as, monkeypatch
):
    """Past DOCUMENT_COUNT_LIMIT matching documents (lowered here) the list says "more than",
    goes Older and Newer, and "select all matching" still takes every one (the confirmation
    counts them)."""
    monkeypatch.setattr(document_selectors, "DOCUMENT_COUNT_LIMIT", 20)
    monkeypatch.setattr(document_views, "PAGE_SIZE", 10)
    membership = MembershipFactory(role=Role.AP_CLERK, org__name="Acme Inc")
    org = membership.org
    office = CategoryFactory(org=org, name="Office", code="429")
    for index in range(28):
        DocumentFactory(
            org=org, category=office, number=f"TR-{index:03d}", status=DocumentStatus.APPROVED
        )
    Connection.objects.create(org=org, provider=Provider.XERO, name="Xero")

    sign_in_as(membership.user.username)
    results = page.locator("#document-results")
    expect(results).to_contain_text("10 of more than 20 documents, newest first")
    expect(page.locator("#document-table")).to_contain_text("TR-027")
    page.get_by_role("link", name="Oldest »").click()
    expect(results).to_contain_text("10 of more than 20 documents")
    expect(page.locator("#document-table")).to_contain_text("TR-000")
    page.get_by_role("link", name="« Newest").click()
    page.get_by_role("link", name="Older →").click()
    expect(page.locator("#document-table")).to_contain_text("TR-017")
    page.get_by_role("link", name="Older →").click()
    expect(results).to_contain_text("8 of more than 20 documents")

    bar = page.get_by_role("region", name="Bulk actions")
    page.get_by_label("Select all documents on this page").check()
    page.get_by_role(
        "button", name="Select all documents matching this filter (more than 20)"
    ).click()
    expect(bar).to_contain_text("All documents matching this filter (more than 20) are selected")
    page.get_by_role("button", name="Re-sync", exact=True).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("28 documents selected (every document matching the filter)")
