"""Accounting Sync History in the browser: find a failed bill, mark it reconciled, see Pending."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from synclog.models import EntryType, RecordStatus, StatusCode, SyncStatusChange
from tests.factories import ContactFactory, DocumentFactory, MembershipFactory
from tests.synclog.history import days_ago, make_connection, make_record

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def history_row(page, record):
    return page.locator(f"#history-table tr[data-record-id='{record.pk}']")


def test_accountant_marks_a_reconciled_bill_complete_and_looks_at_pending(
    page, live_server, screenshot, sign_in_as
):
    membership = MembershipFactory(
        role=Role.ACCOUNTING_SYNC, can_export=True, org__name="Acme Inc", user__username="ana"
    )
    org = membership.org
    xero = make_connection(org)
    travel_agency = ContactFactory(org=org, name="Globetrotter Travel")
    reconciled = make_record(
        connection=xero,
        document=DocumentFactory(
            org=org, contact=travel_agency, number="TRV-1042", total=Decimal("1250.00")
        ),
        updated_at=days_ago(2),
        last_error_code=StatusCode.CONFIGURATION,
        last_error_message="Account code '999' is not a valid code for this document.",
        last_error_explanation="Category Travel has no Xero account mapping.",
        last_error_hint="Map Travel to an account under Integrations › Mappings, then retry.",
    )
    still_failing = make_record(
        connection=xero,
        document=DocumentFactory(org=org, number="OFF-77", total=Decimal("80.00")),
        updated_at=days_ago(1),
        last_error_code=StatusCode.DATA_PUSH,
        last_error_message="The document date cannot be before the period lock date.",
        last_error_explanation="The ledger's books are closed for this date.",
        last_error_hint="Ask your accountant to reopen the period, or change the bill's date.",
    )
    make_record(
        connection=xero,
        status=RecordStatus.COMPLETE,
        synced_at=days_ago(3),
        synced_amount=Decimal("90.00"),
        external_number="INV-0005",
    )
    waiting = make_record(connection=xero, status=RecordStatus.PENDING, updated_at=days_ago(200))
    make_record(connection=xero, entry_type=EntryType.BILL_PAYMENT)

    # Pico's form transitions then end at once, so screenshots show the final state.
    page.emulate_media(reduced_motion="reduce")
    sign_in_as("ana")
    page.goto(f"{live_server.url}/sync/history/")
    page.wait_for_function("() => window.htmx !== undefined")

    expect(page.get_by_role("heading", name="Accounting Sync History")).to_be_visible()
    expect(page.get_by_role("link", name="Bills", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    expect(page.get_by_label("Sync status", exact=True)).to_have_value("failed")
    expect(page.get_by_label("From", exact=True)).to_be_enabled()
    expect(page.get_by_role("button", name="Export to Excel")).to_be_visible()
    row = history_row(page, reconciled)
    expect(row).to_contain_text("TRV-1042")
    expect(row).to_contain_text("Globetrotter Travel")
    expect(row).to_contain_text("Category Travel has no Xero account mapping.")
    expect(row).to_contain_text("Map Travel to an account")
    expect(history_row(page, still_failing)).to_be_visible()
    expect(history_row(page, waiting)).to_have_count(0)
    update = page.get_by_role("button", name="Update Sync Status…")
    expect(update).to_be_disabled()
    screenshot("sync-history")

    row.get_by_role("checkbox").check()
    expect(page.locator("[data-selection-summary]")).to_have_text("1 selected")
    update.click()
    dialog = page.get_by_role("dialog", name="Update Sync Status")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("1 record selected.")
    complete = dialog.get_by_role("radio", name=re.compile(r"^Complete"))
    complete.check()
    expect(complete).to_be_checked()
    dialog.get_by_label("Note (optional)").fill("Entered by hand in Xero on the 3rd")
    screenshot("sync-history-update-dialog")
    dialog.get_by_role("button", name="Update status").click()

    expect(page.locator(".messages .message-success")).to_have_text("1 record marked Complete.")
    expect(history_row(page, reconciled)).to_have_count(0)
    expect(history_row(page, still_failing)).to_be_visible()
    expect(page.get_by_label("Sync status", exact=True)).to_have_value("failed")
    screenshot("sync-history-after-update")
    reconciled.refresh_from_db()
    assert reconciled.status == RecordStatus.COMPLETE
    change = SyncStatusChange.objects.get()
    assert (change.record, change.actor, change.note) == (
        reconciled,
        membership.user,
        "Entered by hand in Xero on the 3rd",
    )

    page.get_by_label("Sync status", exact=True).select_option("pending")
    expect(page.get_by_label("From", exact=True)).to_be_disabled()
    expect(page.get_by_label("To", exact=True)).to_be_disabled()
    expect(page.locator("#pending-dates-note")).to_be_visible()
    expect(history_row(page, waiting)).to_be_visible()
    expect(page).to_have_url(re.compile(r"status=pending"))
    expect(page.get_by_role("button", name="Export to Excel")).to_have_attribute(
        "href", re.compile(r"status=pending")
    )
    screenshot("sync-history-pending")

    # Back to Failed: the dates come back as they were.
    page.get_by_label("Sync status", exact=True).select_option("failed")
    expect(page.get_by_label("From", exact=True)).to_be_enabled()
    expect(history_row(page, still_failing)).to_be_visible()


def test_select_all_matching_reaches_past_the_page(page, live_server, screenshot, sign_in_as):
    membership = MembershipFactory(role=Role.ADMIN, user__username="root")
    xero = make_connection(membership.org)
    failed = [make_record(connection=xero, updated_at=days_ago(1)) for _ in range(55)]
    mismatch = make_record(
        connection=xero,
        status=RecordStatus.COMPLETE,
        total="120.00",
        synced_amount=Decimal("100.00"),
        synced_at=days_ago(10),
        external_number="INV-0101",
    )

    page.emulate_media(reduced_motion="reduce")
    sign_in_as("root")
    page.goto(f"{live_server.url}/sync/history/")
    page.wait_for_function("() => window.htmx !== undefined")
    expect(page.locator("#history-table tbody tr")).to_have_count(50)
    expect(page.get_by_role("button", name="Export to Excel")).to_have_count(0)  # no can_export

    page.get_by_label("Select every record on this page").check()
    expect(page.locator("[data-selection-summary]")).to_have_text("50 selected")
    page.get_by_role("button", name="Select all 55 matching").click()
    expect(page.locator("[data-all-matching-note]")).to_contain_text(
        "All 55 matching records are selected."
    )
    expect(page.locator("[data-selection-summary]")).to_have_text("55 selected")
    screenshot("sync-history-select-all")
    page.get_by_role("button", name="Update Sync Status…").click()
    dialog = page.get_by_role("dialog", name="Update Sync Status")
    expect(dialog).to_contain_text("55 records — every record matching the filters.")
    dialog.get_by_role("radio", name=re.compile(r"^Complete")).check()
    dialog.get_by_role("button", name="Update status").click()

    expect(page.locator(".messages .message-success")).to_have_text("55 records marked Complete.")
    expect(page.locator("#history-table")).to_contain_text("No failed bills in this date range")
    assert SyncStatusChange.objects.filter(record__in=failed).count() == 55

    page.get_by_label("Sync status", exact=True).select_option("complete")
    expect(page.locator("#result-count")).to_contain_text("Records 1–50 of 56")
    # Synced ten days ago: the oldest of the 56, on the second page.
    page.get_by_role("link", name="Next →").click()
    expect(page).to_have_url(re.compile(r"status=complete.*page=2"))
    row = history_row(page, mismatch)
    expect(row).to_have_class(re.compile("amounts-differ"))
    expect(row.locator("mark.differs")).to_have_text("Differs")
    screenshot("sync-history-complete-total-differs")
