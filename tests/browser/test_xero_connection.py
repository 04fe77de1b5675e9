"""Connecting Xero in the browser, against the real emulator server on a free loopback port."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from integrations.models import Connection, ConnectionStatus, Mapping, MappingKind
from tests.browser.conftest import MAPPINGS_URL, message
from tests.factories import CategoryFactory, DepartmentFactory, MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TENANT_NAME = "Demo Company (Emulated)"
NOT_MAPPED = "— not mapped —"


def open_integrations(page):
    page.get_by_role("link", name="Integrations", exact=True).click()
    expect(page.get_by_role("heading", name="Integrations")).to_be_visible()


def start_connecting(page, emulator_url):
    """Fill the connect form and submit it; returns on the emulator's consent page."""
    page.get_by_label("Emulator address").fill(emulator_url)
    page.get_by_role("button", name="Connect").click()
    wait_for_consent(page, emulator_url)


def wait_for_consent(page, emulator_url):
    page.wait_for_url(f"{emulator_url}/identity/connect/authorize?*")
    heading = page.get_by_role("heading", name="wants to access your Xero organisation")
    expect(heading).to_be_visible()
    expect(page.get_by_label(TENANT_NAME)).to_be_checked()


def selected_text(select):
    return select.locator("option:checked")


def account_mapping(connection, category):
    return Mapping.objects.get(
        connection=connection, kind=MappingKind.ACCOUNT, local_id=category.pk
    )


def test_admin_connects_maps_tests_disconnects_and_reconnects_xero(
    page, live_server, screenshot, sign_in_as, xero_emulator_server
):
    emulator_url, emulator = xero_emulator_server
    membership = MembershipFactory(role=Role.ADMIN, org__name="Acme Inc")
    org = membership.org
    office = CategoryFactory(org=org, name="Office", code="429")
    travel = CategoryFactory(org=org, name="Travel", code="493")
    sundries = CategoryFactory(org=org, name="Sundries", code="999")  # not in Xero's chart
    sales = DepartmentFactory(org=org, name="Sales")

    # Connect: our form -> the emulator's consent page -> Allow -> back on our mappings page.
    sign_in_as(membership.user.username)
    open_integrations(page)
    expect(page.locator("#connections")).to_contain_text("No accounting system is connected yet.")
    page.get_by_label("Name").fill("Xero demo")
    page.get_by_label("Emulator address").fill(emulator_url)
    screenshot("xero-integrations-list")
    page.get_by_role("button", name="Connect").click()

    wait_for_consent(page, emulator_url)
    screenshot("xero-consent")
    assert not Connection.objects.exists()
    page.get_by_role("button", name="Allow access").click()

    page.wait_for_url(MAPPINGS_URL)
    assert page.url.startswith(live_server.url)
    expect(message(page, f"Connected to {TENANT_NAME}.")).to_be_visible()
    expect(page.get_by_role("heading", name="Mappings", exact=True)).to_be_visible()
    connection = Connection.objects.get()
    assert connection.org == org
    assert connection.name == "Xero demo"
    assert connection.status == ConnectionStatus.ACTIVE
    assert connection.base_url == emulator_url
    assert connection.tenant_id == emulator.default_tenant_id
    assert connection.tenant_name == TENANT_NAME
    assert connection.connected_by == membership.user
    assert connection.has_credentials
    assert not Mapping.objects.exists()
    tenant_id = connection.tenant_id
    assert [c["tenantId"] for c in emulator.state()["connections"]] == [tenant_id]

    # Map one category by hand, the department to a tracking option, and the payment account.
    office_select = page.get_by_label("Office", exact=True)
    travel_select = page.get_by_label("Travel", exact=True)
    sundries_select = page.get_by_label("Sundries", exact=True)
    sales_select = page.get_by_label("Sales", exact=True)
    bank_select = page.get_by_label("Pay bills from")
    expect(selected_text(office_select)).to_have_text(NOT_MAPPED)
    office_select.select_option(label="400 Advertising")
    sales_select.select_option(label="Department: Sales")
    bank_select.select_option("090")
    page.get_by_role("button", name="Save mappings").click()

    expect(message(page, "Mappings saved.")).to_be_visible()
    expect(page).to_have_url(MAPPINGS_URL)
    expect(selected_text(office_select)).to_have_text("400 Advertising")
    expect(selected_text(sales_select)).to_have_text("Department: Sales")
    expect(selected_text(bank_select)).to_have_text("090 Business Bank Account")
    expect(selected_text(travel_select)).to_have_text(NOT_MAPPED)
    office_mapping = account_mapping(connection, office)
    assert office_mapping.external_name == "400 Advertising"
    assert office_mapping.extra["code"] == "400"
    expect(office_select).to_have_value(office_mapping.external_id)
    sales_mapping = Mapping.objects.get(
        connection=connection, kind=MappingKind.TRACKING, local_id=sales.pk
    )
    assert sales_mapping.external_name == "Department: Sales"
    assert sales_mapping.extra["category_name"] == "Department"
    assert sales_mapping.extra["option_name"] == "Sales"
    expect(sales_select).to_have_value(sales_mapping.external_id)
    assert Mapping.objects.filter(connection=connection).count() == 2
    connection.refresh_from_db()
    assert connection.settings["payment_account_code"] == "090"

    # Auto-mapping maps the unmapped category whose code is in Xero's chart, and only that one.
    page.get_by_role("button", name="Map categories by account code").click()
    expect(message(page, "mapped by account code")).to_have_text(
        re.compile(r"^1 categor(y|ies) mapped by account code\.$")
    )
    expect(selected_text(travel_select)).to_have_text("493 Travel - National")
    expect(selected_text(office_select)).to_have_text("400 Advertising")
    expect(selected_text(sundries_select)).to_have_text(NOT_MAPPED)
    expect(selected_text(bank_select)).to_have_text("090 Business Bank Account")
    screenshot("xero-mappings")
    assert account_mapping(connection, travel).extra["code"] == "493"
    assert account_mapping(connection, office).extra["code"] == "400"
    assert not Mapping.objects.filter(local_id=sundries.pk, kind=MappingKind.ACCOUNT).exists()
    assert Mapping.objects.filter(connection=connection).count() == 3

    # Test the connection from its page.
    page.get_by_role("link", name="Xero demo").click()
    expect(page.locator("#connection-status")).to_have_text("Active")
    page.get_by_role("button", name="Test connection").click()
    expect(message(page, "Connection works")).to_contain_text(TENANT_NAME)
    expect(page.locator("#connection-status")).to_have_text("Active")
    screenshot("xero-connection-detail")
    connection.refresh_from_db()
    assert connection.last_checked_at is not None
    assert connection.last_error == ""

    # Disconnect: the credentials go (and the grant at the ledger), the connection stays.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Disconnect").click()
    expect(page.locator("#connection-status")).to_have_text("Disconnected")
    expect(message(page, "disconnected")).to_contain_text("credentials are deleted")
    expect(page.get_by_role("button", name="Test connection")).to_have_count(0)
    screenshot("xero-connection-disconnected")
    connection = Connection.objects.get()
    assert connection.status == ConnectionStatus.DISCONNECTED
    assert not connection.has_credentials
    assert connection.credentials == {}
    assert connection.tenant_id == tenant_id
    assert Mapping.objects.filter(connection=connection).count() == 3
    assert emulator.state()["connections"] == []

    # Reconnect: consent again, same connection, same tenant, mappings kept.
    page.get_by_role("button", name="Reconnect").click()
    wait_for_consent(page, emulator_url)
    page.get_by_role("button", name="Allow access").click()
    page.wait_for_url(MAPPINGS_URL)
    expect(message(page, f"Connected to {TENANT_NAME}.")).to_be_visible()
    expect(selected_text(office_select)).to_have_text("400 Advertising")
    connection = Connection.objects.get()
    assert connection.status == ConnectionStatus.ACTIVE
    assert connection.tenant_id == tenant_id
    assert connection.name == "Xero demo"
    assert connection.has_credentials
    assert Mapping.objects.filter(connection=connection).count() == 3
    assert [c["tenantId"] for c in emulator.state()["connections"]] == [tenant_id]

    page.get_by_role("link", name="Xero demo").click()
    expect(page.locator("#connection-status")).to_have_text("Active")
    page.get_by_role("button", name="Test connection").click()
    expect(message(page, "Connection works")).to_contain_text(TENANT_NAME)

    open_integrations(page)
    row = page.locator(f"tr[data-connection-id='{connection.pk}']")
    expect(row).to_contain_text("Xero demo")
    expect(row).to_contain_text("(emulator)")
    expect(row).to_contain_text(TENANT_NAME)
    expect(row).to_contain_text("Active")
    screenshot("xero-integrations-connected")


def test_cancelling_on_the_consent_page_connects_nothing(
    page, live_server, screenshot, sign_in_as, xero_emulator_server
):
    emulator_url, emulator = xero_emulator_server
    membership = MembershipFactory(role=Role.ADMIN)

    sign_in_as(membership.user.username)
    open_integrations(page)
    start_connecting(page, emulator_url)
    page.get_by_role("button", name="Cancel").click()

    page.wait_for_url(f"{live_server.url}/integrations/")
    expect(message(page, "did not grant access")).to_have_class(re.compile(r"message-warning"))
    expect(page.locator("#connections")).to_contain_text("No accounting system is connected yet.")
    screenshot("xero-consent-cancelled")
    assert not Connection.objects.exists()
    assert emulator.state()["connections"] == []
