"""A card expense in the pages: created with its type, exchange rate and each line's tracking and
tax rate, shown on the list and the document; the card account chosen on the mappings page; once
approved, Xero holds it as spend money from that account (no bill, no payment to record)."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from documents.models import Document
from tests.browser.conftest import connect_xero, push_pending
from tests.factories import CategoryFactory, ContactFactory, DepartmentFactory, MembershipFactory
from tests.ledger_fixtures import map_to_tracking_option

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_card_expense_is_entered_shown_and_booked_as_spend_money(
    page,
    live_server,
    screenshot,
    sign_in_as,
    ledger,
    enqueued,
):
    membership = MembershipFactory(role=Role.ADMIN, org__name="Acme Inc")
    org = membership.org
    travel = CategoryFactory(org=org, name="Travel", code="493")
    sales = DepartmentFactory(org=org, name="Sales")
    ContactFactory(org=org, name="Taxi Co")
    connection = connect_xero(org, ledger)
    map_to_tracking_option(connection, sales, "Sales")

    sign_in_as(membership.user.username)
    page.goto(f"{live_server.url}/documents/new/")
    page.get_by_label("Kind").select_option("expense")
    page.get_by_label("Number").fill("CARD-7")
    page.get_by_label("Contact").select_option(label="Taxi Co")
    page.get_by_label("Issue date").fill("2026-11-05")
    page.get_by_label("Due date").fill("2026-11-05")
    page.get_by_label("Currency").fill("EUR")
    page.get_by_label("Total").fill("44.00")
    page.get_by_label("Expense type").select_option(label="Card spend")
    page.get_by_label("Exchange rate").fill("1.085")
    page.locator("input[name='form-0-description']").fill("Taxi")
    page.locator("input[name='form-0-unit_amount']").fill("40.00")
    page.locator("select[name='form-0-category']").select_option(str(travel.pk))
    page.locator("select[name='form-0-department']").select_option(str(sales.pk))
    page.locator("input[name='form-0-tax_type']").fill("INPUT")
    page.locator("input[name='form-1-description']").fill("Tip")
    page.locator("input[name='form-1-unit_amount']").fill("4.00")
    page.locator("select[name='form-1-category']").select_option(str(travel.pk))
    page.get_by_role("button", name="Save").click()

    expect(page.locator("#document-status")).to_have_text("Draft")
    expect(page.locator("#expense-type")).to_contain_text("Card spend")
    expect(page.locator("#exchange-rate")).to_contain_text("1.085 EUR per")
    taxi = page.locator("tr", has_text="Taxi")
    expect(taxi).to_contain_text("Sales")
    expect(taxi).to_contain_text("INPUT")
    screenshot("card-expense-detail")
    document = Document.objects.get(number="CARD-7")
    assert (document.expense_type, str(document.exchange_rate)) == ("card", "1.085000")

    # The list shows the type beside the kind.
    page.goto(f"{live_server.url}/documents/")
    expect(page.locator(f"tr[data-document-id='{document.pk}']")).to_contain_text("Card spend")

    # The card account, on the mappings page.
    page.goto(f"{live_server.url}/integrations/{connection.pk}/mappings/")
    page.get_by_label("Card expenses are spent from").select_option("091")
    page.get_by_role("button", name="Save mappings").click()
    expect(page.locator(".messages")).to_contain_text("Mappings saved.")
    expect(page.get_by_label("Card expenses are spent from")).to_have_value("091")

    page.goto(f"{live_server.url}/documents/{document.pk}/")
    page.get_by_role("button", name="Submit for approval").click()
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#document-status")).to_have_text("Approved")
    expect(page.get_by_role("link", name="Record payment")).to_have_count(0)
    push_pending()

    assert ledger.invoices() == []
    (spent,) = ledger.bank_transactions()
    assert (spent["Type"], spent["BankAccount"]["Code"], spent["Reference"]) == (
        "SPEND",
        "091",
        "CARD-7",
    )
    assert spent["LineItems"][0]["TaxType"] == "INPUT"
    assert spent["LineItems"][0]["Tracking"][0]["Option"] == "Sales"
    page.reload()
    expect(page.locator("#document-status")).to_have_text("Approved")
    assert re.search(r"1\.085", page.locator("#exchange-rate").inner_text())
