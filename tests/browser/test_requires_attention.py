"""Requires attention in the browser: a failure grouped by its cause (a category with no Xero
mapping), the admin follows the fix link, maps the category, retries the group, and the group
is gone.

The ledger is the Xero emulator in this process; the test plays the worker (see
test_bulk_resync.py).
"""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from documents import services as document_services
from documents.models import DocumentStatus
from integrations.models import Mapping, MappingKind
from synclog.models import RecordStatus, SyncRecord, SyncRun, Trigger
from tests.browser.conftest import connect_xero, push_pending
from tests.factories import (
    CategoryFactory,
    ConnectionFactory,
    ContactFactory,
    DocumentFactory,
    MembershipFactory,
    OrganizationFactory,
    SyncRecordFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MESSAGE = "Category Travel has no Xero mapping."


def foreign_failure():
    """Another organisation's failure, which must never show."""
    other = OrganizationFactory(name="Globex")
    connection = ConnectionFactory(org=other, name="Globex Xero")
    document = DocumentFactory(org=other, number="GLOBEX-1", status=DocumentStatus.APPROVED)
    SyncRecordFactory(
        connection=connection,
        document=document,
        status=RecordStatus.FAILED,
        last_error_code=4000,
        last_error_message="Category Secret has no Xero mapping.",
    )


def test_admin_fixes_a_missing_mapping_and_retries_the_group(
    page, live_server, screenshot, sign_in_as, ledger, enqueued
):
    membership = MembershipFactory(role=Role.ADMIN, org__name="Acme Inc")
    admin, org = membership.user, membership.org
    office = CategoryFactory(org=org, name="Office", code="429")
    travel = CategoryFactory(org=org, name="Travel", code="999")  # not in Xero's chart
    vendor = ContactFactory(org=org, name="Rail Co")
    trips = [
        DocumentFactory(org=org, contact=vendor, category=travel, number=f"TRIP-{index}")
        for index in range(3)
    ]
    fine = DocumentFactory(org=org, contact=vendor, category=office, number="PAPER-1")
    connection = connect_xero(org, ledger)
    for document in [*trips, fine]:
        document_services.document_approve(document=document, actor=admin)
    push_pending(rounds=5)
    assert SyncRecord.objects.filter(org=org, status=RecordStatus.FAILED).count() == 3
    foreign_failure()

    # The documents list shows the tab with how many documents need attention.
    sign_in_as(admin.username)
    tab = page.get_by_role("link", name=re.compile(r"^Requires attention"))
    expect(tab).to_contain_text("3")
    tab.click()
    expect(page).to_have_url(re.compile(r"/sync/attention/$"))
    group = page.locator("article.attention-group")
    expect(group).to_have_count(1)
    expect(group.get_by_role("heading")).to_have_text(f"3 bills: {MESSAGE}")
    expect(group).to_contain_text("Category Travel is not mapped to anything in Xero")
    expect(group).to_contain_text("How to fix:")
    for trip in trips:
        expect(group.locator(f"tr[data-document-id='{trip.pk}']")).to_contain_text(trip.number)
    expect(page.locator("main")).not_to_contain_text("PAPER-1")
    expect(page.locator("main")).not_to_contain_text("GLOBEX")
    expect(page.locator("main")).not_to_contain_text("Secret")
    screenshot("attention-grouped")

    # The fix: the group's link opens the connection's mappings; map Travel there.
    # (A link shown as a button, as everywhere in the app.)
    group.get_by_role("button", name="Map it in Xero").click()
    expect(page).to_have_url(re.compile(rf"/integrations/{connection.pk}/mappings/$"))
    page.get_by_label("Travel", exact=True).select_option(label="493 Travel - National")
    page.get_by_role("button", name="Save mappings").click()
    expect(page.locator(".messages")).to_contain_text("Mappings saved.")
    screenshot("attention-mapping-fixed")
    assert Mapping.objects.filter(
        connection=connection, kind=MappingKind.ACCOUNT, local_id=travel.pk
    ).exists()

    # Back to Requires attention; retry the group.
    page.get_by_role("link", name="Documents", exact=True).first.click()
    page.get_by_role("link", name=re.compile(r"^Requires attention")).click()
    page.get_by_role("button", name="Retry these 3").click()
    expect(page).to_have_url(re.compile(r"/sync/bulk/[0-9a-f-]{36}/$"))
    expect(page.locator(".messages")).to_contain_text("Retry of 3 documents started.")
    run = SyncRun.objects.get(trigger=Trigger.RETRY)
    assert run.total == 3
    assert set(SyncRecord.objects.filter(run=run).values_list("document_id", flat=True)) == {
        trip.pk for trip in trips
    }

    push_pending(rounds=5)
    expect(page.get_by_role("heading", name="Retry finished")).to_be_visible()
    expect(page.locator("#bulk-summary-1")).to_contain_text("3 synced")
    expect(page.locator("#bulk-summary-1")).to_contain_text("0 failed")
    screenshot("attention-retry-finished")
    assert len(ledger.invoices()) == 4

    # The group is gone, and with it everything needing attention.
    page.get_by_role("link", name="Documents", exact=True).first.click()
    page.get_by_role("link", name=re.compile(r"^Requires attention")).click()
    expect(page.locator("article.attention-group")).to_have_count(0)
    expect(page.locator("#attention-empty")).to_contain_text(
        "Nothing needs attention — every document is in sync."
    )
    screenshot("attention-empty")
