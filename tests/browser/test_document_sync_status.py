"""The Documents list's sync status in the browser (issue 17, item 6): a clerk sees which
documents are in the ledger, failed or not pushed, filters the failed ones, selects all of them
across pages and re-syncs them once the cause is fixed.

The ledger is the Xero emulator in this process; the test plays the worker (push_pending)."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from documents.models import DocumentStatus
from synclog import services
from synclog.models import RecordStatus, SyncRecord, SyncRun
from tests.browser.conftest import connect_xero, push_pending
from tests.factories import (
    CategoryFactory,
    ContactFactory,
    DepartmentFactory,
    DocumentFactory,
    MembershipFactory,
)
from tests.ledger_fixtures import map_to_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_clerk_filters_failed_documents_selects_all_and_resyncs_them(
    page,
    live_server,
    screenshot,
    sign_in_as,
    ledger,
    enqueued,
):
    membership = MembershipFactory(role=Role.AP_CLERK, org__name="Acme Inc")
    org = membership.org
    office = CategoryFactory(org=org, name="Office", code="429")
    # No account with this code in the ledger: its bills fail with a missing mapping.
    travel = CategoryFactory(org=org, name="Travel", code="4999")
    vendor = ContactFactory(org=org, name="Travel Agency")
    for index in range(27):
        DocumentFactory(
            org=org, contact=vendor, category=travel, number=f"TR-{index:03d}", status="approved"
        )
    for index in range(3):
        DocumentFactory(org=org, category=office, number=f"OF-{index}", status="approved")
    DocumentFactory(org=org, category=office, number="DRAFT-1", status=DocumentStatus.DRAFT)
    connection = connect_xero(org, ledger)
    services.force_sync(org=org, connection=connection, actor=None)
    push_pending(rounds=5)
    assert SyncRecord.objects.filter(status=RecordStatus.FAILED).count() == 27
    # Approved after the catch-up, with its push lost: nothing will push it by itself.
    late = DocumentFactory(org=org, category=office, number="LATE-1", status="approved")

    sign_in_as(membership.user.username)
    table = page.locator("#document-table")
    expect(page.locator("#sync-state-heading")).to_have_attribute(
        "title", re.compile(r"^The worst of the document's ledger entries")
    )

    def sync_status(number: str):
        return table.locator("tr", has_text=number).locator("[data-sync-state]")

    page.get_by_label("Number").fill("OF-0")
    expect(sync_status("OF-0")).to_have_text("In the ledger")
    page.get_by_label("Number").fill(late.number)
    expect(sync_status(late.number)).to_have_text("Not pushed")
    page.get_by_label("Number").fill("DRAFT-1")
    expect(sync_status("DRAFT-1")).to_have_text("—")
    page.get_by_label("Number").fill("")
    expect(page.locator("#document-results")).to_contain_text("32 documents")

    page.get_by_label("Sync status").select_option(label="Failed")
    expect(page).to_have_url(re.compile(r"sync_state=failed"))
    expect(page.locator("#document-results")).to_contain_text("27 documents")
    expect(table.locator("[data-sync-state]").first).to_have_text("Failed")
    expect(table).not_to_contain_text("OF-")
    screenshot("documents-sync-status-failed")

    # The cause is fixed in the mappings; then every failed document goes again, both pages.
    map_to_account(connection, travel, "400")
    page.get_by_label("Select all documents on this page").check()
    bar = page.get_by_role("region", name="Bulk actions")
    expect(bar).to_contain_text("25 selected")
    page.get_by_role("button", name="Select all 27 documents matching this filter").click()
    expect(bar).to_contain_text("All 27 documents matching this filter are selected")
    page.get_by_role("button", name="Re-sync", exact=True).click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading")).to_have_text("Re-sync 27 documents?")
    dialog.get_by_role("button", name="Re-sync 27 documents").click()
    expect(page).to_have_url(re.compile(r"/sync/bulk/[0-9a-f-]{36}/$"))

    run = SyncRun.objects.get(trigger="bulk")
    assert set(SyncRecord.objects.filter(run=run).values_list("document__number", flat=True)) == {
        f"TR-{index:03d}" for index in range(27)
    }
    push_pending(rounds=5)
    expect(page.get_by_role("heading", name="Re-sync finished")).to_be_visible()
    expect(page.locator("#bulk-summary-1")).to_contain_text("27 synced")

    page.goto(f"{live_server.url}/documents/?sync_state=failed")
    expect(page.locator("#document-results")).to_contain_text("0 documents")
    page.get_by_label("Sync status").select_option(label="In the ledger")
    expect(page.locator("#document-results")).to_contain_text("30 documents")


def test_the_sync_status_is_in_view_without_scrolling_at_a_laptops_width(
    page,
    live_server,
    screenshot,
    sign_in_as,
    ledger,
    enqueued,
):
    """AP staff open the list to see what failed: at 1,300 px every column fits, and at
    1,000 px the sync status still sits beside the number and contact while the last columns
    scroll in the table's own box. Rows with the widest badges and long names."""
    membership = MembershipFactory(role=Role.AP_CLERK, org__name="Acme Inc")
    org = membership.org
    office = CategoryFactory(org=org, name="Office Supplies", code="429")
    travel = CategoryFactory(org=org, name="Travel", code="4999")  # not in Xero: fails
    department = DepartmentFactory(org=org, name="Engineering")
    vendor = ContactFactory(org=org, name="Northwind Office Supply Company")
    for index, category in enumerate([office, travel, office]):
        DocumentFactory(
            org=org,
            contact=vendor,
            category=category,
            department=department if category == travel else None,  # unmapped too
            number=f"2026/{6700 + index}",
            total="10674.15",
            status="approved",
        )
    connection = connect_xero(org, ledger)
    services.force_sync(org=org, connection=connection, actor=None)
    push_pending(rounds=5)
    DocumentFactory(org=org, contact=vendor, number="SI-02182", status="awaiting_approval")
    late = DocumentFactory(org=org, contact=vendor, number="LATE-1", status="approved")

    page.set_viewport_size({"width": 1300, "height": 900})
    sign_in_as(membership.user.username)
    table = page.locator("#document-table")
    states = table.locator("td[data-sync-state]")
    expect(states).to_have_count(5)
    expect(table.locator("tr", has_text=late.number).locator("[data-sync-state]")).to_have_text(
        "Not pushed"
    )
    expect(table.locator("[data-sync-state='failed']")).to_have_count(1)

    def layout():
        return page.evaluate(
            """() => {
              const box = document.querySelector('#document-table').parentElement;
              const edge = box.getBoundingClientRect().right;
              const cells = [...document.querySelectorAll('td[data-sync-state]')];
              const filter = document.querySelector('.filters button[type=submit]');
              return {
                overflow: box.scrollWidth - box.clientWidth,
                statusesInView: cells.every(c => c.getBoundingClientRect().right <= edge),
                filterRight: filter.getBoundingClientRect().right,
                window: window.innerWidth,
              };
            }"""
        )

    at_1300 = layout()
    screenshot("documents-list-1300")
    assert at_1300["overflow"] <= 0, at_1300  # every column fits: nothing scrolls
    assert at_1300["statusesInView"] and at_1300["filterRight"] <= at_1300["window"]

    page.set_viewport_size({"width": 1000, "height": 900})
    page.reload()
    expect(states).to_have_count(5)
    at_1000 = layout()
    screenshot("documents-list-1000")
    assert at_1000["overflow"] > 0  # the last columns scroll in the table's box…
    assert at_1000["statusesInView"], at_1000  # …the sync status does not
    assert at_1000["filterRight"] <= at_1000["window"]
