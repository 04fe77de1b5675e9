"""Working on QuickBooks Online in the browser, against the QBO emulator as a real server on a
free loopback port: the admin chooses the ledger on the connect form, picks the company on
Intuit's (emulated) consent page, maps a category, a department and the vendor, approves a bill,
and the bill lands in QuickBooks: Complete on its Integrations tab and a Bill in the emulator.
Then the bill is paid (a BillPayment from the checking account), both entries are re-synced
from the Re-sync dialog (nothing to push: QuickBooks holds them), and a bill from a vendor with
no QuickBooks vendor fails, shows in Requires attention, and goes through once the vendor is
mapped and the group retried. The test plays the worker (push_pending)."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from integrations.models import ConnectionStatus, Mapping, MappingKind, Provider
from synclog.models import RecordStatus, SyncRecord
from tests.browser.conftest import (
    MAPPINGS_URL,
    approve_and_push,
    connect_on_consent_page,
    message,
    push_pending,
)
from tests.factories import (
    CategoryFactory,
    ContactFactory,
    DepartmentFactory,
    DocumentFactory,
    MembershipFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_connects_quickbooks_and_works_there_as_on_xero(
    page,
    live_server,
    screenshot,
    sign_in_as,
    qbo_emulator_server,
    enqueued,
):
    emulator_url, emulator = qbo_emulator_server
    second = emulator.add_realm("Globex QBO")  # the consent page offers a choice of companies
    membership = MembershipFactory(role=Role.ADMIN, org__name="Acme Inc")
    admin, org = membership.user, membership.org
    office = CategoryFactory(org=org, name="Office", code="429")
    sales = DepartmentFactory(org=org, name="Sales")
    vendor = ContactFactory(org=org, name="Paper Co")
    bill = DocumentFactory(
        org=org, contact=vendor, category=office, department=sales, number="QB-1001"
    )
    unmapped_vendor = ContactFactory(org=org, name="Ink Co")
    ink_bill = DocumentFactory(org=org, contact=unmapped_vendor, category=office, number="QB-1002")

    # Connect: QuickBooks Online on our form -> the emulator's consent page -> back, mapped.
    sign_in_as(admin.username)
    connection = connect_on_consent_page(
        page,
        screenshot,
        ledger="QuickBooks Online",
        name="QuickBooks demo",
        emulator_url=emulator_url,
        consent="/connect/oauth2",
        heading="to QuickBooks",
        company="Globex QBO",
        allow="Connect",
        shot="qbo-consent",
    )
    assert connection.provider == Provider.QUICKBOOKS
    assert connection.tenant_id == second["realmId"]  # the callback's realmId
    assert connection.tenant_name == "Globex QBO"
    assert connection.base_url == emulator_url
    assert connection.status == ConnectionStatus.ACTIVE

    # Map: the category to an expense account, the department to a class, the vendor, and pay
    # bills from the checking account (QBO's "Bank" type, offered as a bank account).
    accounts = {a["Name"]: a for a in emulator.entities("Account", second["realmId"])}
    vendors = {v["DisplayName"]: v for v in emulator.entities("Vendor", second["realmId"])}
    office_account = accounts["Office Supplies"]
    office_select = page.get_by_label("Office", exact=True)
    office_select.select_option(label=f"{office_account['Id']} Office Supplies")
    page.get_by_label("Sales", exact=True).select_option(label="Class: Sales")
    bank_select = page.get_by_label("Pay bills from")
    bank_select.select_option(label=f"{accounts['Checking']['Id']} Checking")
    # Neither the Accounts Payable nor the bank account is offered for a category.
    expect(office_select.locator("option", has_text="Accounts Payable")).to_have_count(0)
    expect(office_select.locator("option", has_text="Checking")).to_have_count(0)
    page.locator("summary", has_text="Vendors").click()
    page.get_by_label("Paper Co", exact=True).select_option(label="Office Supplies Ltd")
    page.get_by_role("button", name="Save mappings").click()
    expect(message(page, "Mappings saved.")).to_be_visible()
    screenshot("qbo-mappings")
    mapping = Mapping.objects.get(
        connection=connection, kind=MappingKind.ACCOUNT, local_id=office.pk
    )
    assert mapping.external_id == office_account["Id"]
    connection.refresh_from_db()
    assert connection.settings["payment_account_code"] == accounts["Checking"]["Id"]

    # Approve the bill; the worker pushes it to QuickBooks.
    record = approve_and_push(page, screenshot, bill, shot="qbo-bill-complete")

    [entry] = emulator.entities("Bill", second["realmId"])
    assert entry["Id"] == record.external_id
    assert entry["DocNumber"] == "QB-1001"
    assert entry["VendorRef"]["value"] == vendors["Office Supplies Ltd"]["Id"]
    line = entry["Line"][0]["AccountBasedExpenseLineDetail"]
    assert line["AccountRef"]["value"] == office_account["Id"]
    assert line["ClassRef"]["name"] == "Sales"
    assert emulator.entities("Bill", emulator.default_realm_id) == []

    # Pay it: the payment goes to QuickBooks as a BillPayment from Checking, against the bill.
    page.get_by_role("navigation", name="Document sections").get_by_role(
        "link", name="Details"
    ).click()
    page.get_by_role("button", name="Record payment").click()
    page.get_by_role("button", name="Record payment").click()
    expect(page.get_by_role("status")).to_contain_text("Payment of 100.00 EUR recorded")
    push_pending()
    payment_record = SyncRecord.objects.get(document=bill, payment__isnull=False)
    assert payment_record.status == RecordStatus.COMPLETE, payment_record.last_error_message
    [paid] = emulator.entities("BillPayment", second["realmId"])
    assert paid["Id"] == payment_record.external_id
    assert paid["CheckPayment"]["BankAccountRef"]["value"] == accounts["Checking"]["Id"]
    assert paid["Line"][0]["LinkedTxn"] == [{"TxnId": entry["Id"], "TxnType": "Bill"}]
    assert emulator.entity("Bill", entry["Id"], second["realmId"])["Balance"] == 0

    # Re-sync both entries from the dialog: QuickBooks holds them as they are, nothing to push.
    integrations_tab = page.get_by_role("navigation", name="Document sections").get_by_role(
        "link", name="Integrations"
    )
    integrations_tab.click()
    writes = len(emulator.writes(second["realmId"]))
    for entry_label, record_of_entry in (("Bill entry", record), ("Payment entry", payment_record)):
        page.get_by_role("button", name="Re-sync").click()
        dialog = page.locator("#resync-dialog")
        dialog.get_by_label(entry_label).check()
        dialog.get_by_role("button", name="Confirm re-sync").click()
        expect(page.get_by_role("status").filter(has_text="Re-sync of the")).to_be_visible()
        push_pending()
        latest = record_of_entry.attempts.first()
        assert (latest.trigger, latest.status_code) == ("manual", 2040), latest.error_message
        expect(page.locator(f"#attempt-log tbody[data-attempt-id='{latest.pk}']")).to_contain_text(
            "2040"
        )
    assert len(emulator.writes(second["realmId"])) == writes
    screenshot("qbo-resynced-both-entries")

    # A bill from a vendor with no QuickBooks vendor fails and waits in Requires attention.
    page.get_by_role("link", name="Documents", exact=True).first.click()
    page.get_by_role("link", name="QB-1002").click()
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#document-status")).to_have_text("Approved")
    push_pending()
    failed = SyncRecord.objects.get(document=ink_bill)
    assert failed.status == RecordStatus.FAILED
    page.get_by_role("link", name="Documents", exact=True).first.click()
    tab = page.get_by_role("link", name=re.compile(r"^Requires attention"))
    expect(tab).to_contain_text("1")
    tab.click()
    group = page.locator("article.attention-group")
    expect(group).to_have_count(1)
    expect(group).to_contain_text("Ink Co")
    expect(group.locator(f"tr[data-document-id='{ink_bill.pk}']")).to_contain_text("QB-1002")
    screenshot("qbo-attention")

    # The fix: map the vendor, then retry the group.
    group.get_by_role("button", name="Map it in QuickBooks demo").click()
    expect(page).to_have_url(MAPPINGS_URL)
    page.locator("summary", has_text="Vendors").click()
    page.get_by_label("Ink Co", exact=True).select_option(label="City Power & Light")
    page.get_by_role("button", name="Save mappings").click()
    expect(message(page, "Mappings saved.")).to_be_visible()
    page.get_by_role("link", name="Documents", exact=True).first.click()
    page.get_by_role("link", name=re.compile(r"^Requires attention")).click()
    page.get_by_role("button", name="Retry this one").click()
    expect(page.locator(".messages")).to_contain_text("Retry of 1 document")
    push_pending()
    expect(page.get_by_role("heading", name="Retry finished")).to_be_visible()
    expect(page.locator("#bulk-summary-1")).to_contain_text("1 synced")
    screenshot("qbo-attention-retried")
    failed.refresh_from_db()
    assert failed.status == RecordStatus.COMPLETE
    ink_entry = emulator.entity("Bill", failed.external_id, second["realmId"])
    assert ink_entry["VendorRef"]["value"] == vendors["City Power & Light"]["Id"]
    page.get_by_role("link", name="Documents", exact=True).first.click()
    page.get_by_role("link", name=re.compile(r"^Requires attention")).click()
    expect(page.locator("article.attention-group")).to_have_count(0)
