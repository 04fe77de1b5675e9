"""Connecting MYOB in the browser, against the MYOB emulator as a real server on a free loopback
port: the admin chooses MYOB on the connect form, picks the company file on MYOB's (emulated)
consent page, maps a category to an account number, a department to a job and the vendor to a
supplier card, approves a bill, and the bill lands in MYOB: Complete on its Integrations tab and
a service bill in the emulator's company file. The test plays the worker (push_pending)."""

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from integrations.models import ConnectionStatus, Mapping, MappingKind, Provider
from tests.browser.conftest import approve_and_push, connect_on_consent_page, message
from tests.factories import (
    CategoryFactory,
    ContactFactory,
    DepartmentFactory,
    DocumentFactory,
    MembershipFactory,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_connects_myob_maps_and_a_bill_lands_there(
    page,
    live_server,
    screenshot,
    sign_in_as,
    myob_emulator_server,
    enqueued,
):
    emulator_url, emulator = myob_emulator_server
    second = emulator.add_company_file("Harbour Bikes (Emulated)")  # a choice of files
    business_id = second["businessId"]
    membership = MembershipFactory(role=Role.ADMIN, org__name="Harbour Bikes")
    admin, org = membership.user, membership.org
    office = CategoryFactory(org=org, name="Office", code="429")
    workshop = DepartmentFactory(org=org, name="Workshop")
    vendor = ContactFactory(org=org, name="Paper Co")
    bill = DocumentFactory(
        org=org, contact=vendor, category=office, department=workshop, number="MY-1001"
    )

    # Connect: MYOB on our form -> the emulator's consent page -> back, mapped.
    sign_in_as(admin.username)
    connection = connect_on_consent_page(
        page,
        screenshot,
        ledger="MYOB Business",
        name="MYOB demo",
        emulator_url=emulator_url,
        consent="/oauth2/account/authorize",
        heading="Allow access to your MYOB business",
        company="Harbour Bikes (Emulated)",
        allow="Allow access",
        shot="myob-consent",
    )
    assert connection.provider == Provider.MYOB
    assert connection.tenant_id == business_id  # the callback's businessId
    assert connection.tenant_name == "Harbour Bikes (Emulated)"
    assert connection.status == ConnectionStatus.ACTIVE

    # Map: the category to an expense account by its number, the department to a job, the
    # vendor to a supplier card, and pay bills from the bank account.
    office_select = page.get_by_label("Office", exact=True)
    office_select.select_option(label="6-1100 Office Supplies")
    # Neither a header account nor the bank account is offered for a category.
    expect(office_select.locator("option", has_text="General Expenses")).to_have_count(0)
    expect(office_select.locator("option", has_text="Business Bank Account")).to_have_count(0)
    page.get_by_label("Workshop", exact=True).select_option(label="Job: 100 Workshop")
    page.get_by_label("Pay bills from").select_option(label="1-1110 Business Bank Account")
    page.locator("summary", has_text="Vendors").click()
    page.get_by_label("Paper Co", exact=True).select_option(label="Acme Supplies")
    page.get_by_role("button", name="Save mappings").click()
    expect(message(page, "Mappings saved.")).to_be_visible()
    screenshot("myob-mappings")
    mapping = Mapping.objects.get(
        connection=connection, kind=MappingKind.ACCOUNT, local_id=office.pk
    )
    accounts = {a["DisplayID"]: a for a in emulator.records("GeneralLedger/Account", business_id)}
    assert mapping.external_id == accounts["6-1100"]["UID"]

    # Approve the bill; the worker pushes it to MYOB.
    record = approve_and_push(page, screenshot, bill, shot="myob-bill-complete")

    [entry] = emulator.records("Purchase/Bill/Service", business_id)
    assert entry["UID"] == record.external_id
    assert entry["SupplierInvoiceNumber"] == "MY-1001"
    assert entry["Supplier"]["Name"] == "Acme Supplies"
    assert entry["Lines"][0]["Account"]["DisplayID"] == "6-1100"
    assert entry["Lines"][0]["Job"]["Name"] == "Workshop"
    assert emulator.records("Purchase/Bill/Service") == []  # not the other company file
