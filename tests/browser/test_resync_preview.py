"""Issue 17, item 1, in the browser as an AP clerk: the Re-sync dialog shows, field by field,
what the ledger holds now and what the push will change (on Xero, QuickBooks Online and MYOB),
nothing is sent until the clerk confirms; the bulk confirmation shows the same for the first
documents of a selection, a booked entry refused with its date. The ledger is the emulator in
this process; the test plays the worker."""

import datetime

import pytest
from django.template.defaultfilters import date as date_filter
from playwright.sync_api import expect

from accounts.models import Role
from documents import services as document_services
from documents.models import Category, Contact
from synclog.models import RecordStatus, SyncRecord, SyncRun
from tests.browser.conftest import push_pending
from tests.browser_fixtures import ARTIFACTS
from tests.factories import CategoryFactory, ContactFactory, DocumentFactory, MembershipFactory
from tests.ledger_fixtures import LEDGERS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def clerk_org():
    membership = MembershipFactory(role=Role.AP_CLERK, org__name="Acme Inc")
    org = membership.org
    CategoryFactory(org=org, name="Office", code="429")
    # A vendor each emulator knows by this name (QuickBooks and MYOB take none by name).
    ContactFactory(org=org, name="Office Supplies Ltd")
    return membership.user, org


def make_bills(org, clerk, numbers: list[str]) -> list:
    """Bills approved and pushed (the test plays the worker), each Complete in the ledger."""
    vendor, category = Contact.objects.get(org=org), Category.objects.get(org=org)
    bills = [
        DocumentFactory(org=org, contact=vendor, category=category, number=number)
        for number in numbers
    ]
    for bill in bills:
        document_services.document_approve(document=bill, actor=clerk)
    push_pending()
    for bill in bills:
        record = SyncRecord.objects.get(document=bill, payment__isnull=True)
        assert record.status == RecordStatus.COMPLETE, record.last_error_message
        bill.refresh_from_db()
    return bills


@pytest.mark.parametrize("provider", LEDGERS)
def test_the_resync_dialog_shows_the_ledgers_change_before_anything_is_sent(
    page,
    sign_in_as,
    screenshot,
    ledger_books,
    clerk_org,
    enqueued,
    provider,
):
    clerk, org = clerk_org
    ledger_books.connect_org(org)
    [bill] = make_bills(org, clerk, ["INV-3001"])
    record = SyncRecord.objects.get(document=bill)
    # Someone moves the due date in the ledger itself.
    ledger_books.change_due_date(record.external_id, datetime.date(2027, 3, 31))
    writes = len(ledger_books.writes())

    sign_in_as(clerk.get_username())
    page.get_by_role("link", name=bill.number).click()
    page.get_by_role("navigation", name="Document sections").get_by_role(
        "link", name="Integrations"
    ).click()
    page.get_by_role("button", name="Re-sync").click()
    dialog = page.locator("#resync-dialog")
    entry = dialog.locator(".preview-entry[data-entry-type='bill']")
    expect(entry).to_have_attribute("data-action", "update")
    expect(entry.locator(".preview-action")).to_have_text("update")
    due = entry.locator("tr[data-field='due date']")
    expect(due.locator(".there")).to_have_text(date_filter(datetime.date(2027, 3, 31)))
    expect(due.locator(".here")).to_have_text(date_filter(bill.due_date))
    # Only the field that differs is listed.
    expect(entry.locator("tr.preview-change")).to_have_count(1)
    expect(dialog).to_contain_text(f"In {ledger_books.display_name} now")
    expect(dialog).to_contain_text("nothing is sent until you confirm")
    page.screenshot(path=str(ARTIFACTS / f"resync-preview-dialog-{provider}.png"))

    # The preview sent nothing and started nothing.
    assert len(ledger_books.writes()) == writes
    assert not SyncRun.objects.exists()
    record.refresh_from_db()
    assert record.status == RecordStatus.COMPLETE

    dialog.get_by_role("button", name="Confirm re-sync").click()
    expect(page.locator("#log-refreshing")).to_be_visible()
    push_pending()
    expect(page.locator("#log-refreshing")).to_have_count(0)
    assert ledger_books.bill(record.external_id).due_date == bill.due_date
    assert len(ledger_books.bills()) == 1


def test_the_bulk_confirmation_previews_the_first_documents_and_counts_the_rest(
    page,
    sign_in_as,
    screenshot,
    ledger,
    ledger_books,
    clerk_org,
    enqueued,
    settings,
):
    settings.SYNC_PREVIEW_DOCUMENTS = 3
    clerk, org = clerk_org
    ledger_books.connect_org(org)
    bills = make_bills(org, clerk, ["BL-1", "BL-2", "BL-3", "BL-4"])
    first = SyncRecord.objects.get(document=bills[0])
    # BL-1 is paid in Xero; the clerk then changes its due date here: Xero would refuse it.
    ledger.book_invoice(first.external_id)
    document_services.document_update(
        document=bills[0], actor=clerk, data={"due_date": datetime.date(2026, 12, 24)}
    )
    # BL-2's due date changes here too (its push has not gone yet): the re-sync updates it.
    document_services.document_update(
        document=bills[1], actor=clerk, data={"due_date": datetime.date(2026, 12, 28)}
    )
    writes = len(ledger.writes())

    sign_in_as(clerk.get_username())
    page.get_by_label("Number").fill("BL-")
    expect(page.locator("#document-results")).to_contain_text("4 documents")
    page.get_by_label("Select all documents on this page").check()
    page.get_by_role("button", name="Re-sync", exact=True).click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading")).to_have_text("Re-sync 4 documents?")
    preview = dialog.locator(".resync-preview")
    expect(preview.locator(".preview-entry")).to_have_count(3)
    expect(preview).to_contain_text("The first 3 documents, ")
    expect(preview.locator("[data-count='refused']")).to_have_text("1 refused")
    expect(preview.locator("[data-count='update']")).to_have_text("1 to update")
    expect(preview.locator("[data-count='unchanged']")).to_have_text("1 unchanged")
    expect(preview.locator(".preview-more")).to_contain_text("1 more document is re-synced")
    refused = preview.locator(f".preview-entry[data-document-id='{bills[0].pk}']")
    expect(refused.locator(".preview-action")).to_contain_text("refused: booked in Xero on ")
    expect(refused.locator("tr[data-field='due date'] .here")).to_have_text(
        date_filter(datetime.date(2026, 12, 24))
    )
    updated = preview.locator(f".preview-entry[data-document-id='{bills[1].pk}']")
    expect(updated.locator("tr[data-field='due date'] .here")).to_have_text(
        date_filter(datetime.date(2026, 12, 28))
    )
    page.screenshot(path=str(ARTIFACTS / "bulk-resync-preview.png"))
    assert len(ledger.writes()) == writes
    assert not SyncRun.objects.exists()
