"""An admin disables, enables and disconnects a connection; its page lists who did what, when."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from integrations.models import Connection, ConnectionEvent, Provider
from tests.factories import MembershipFactory
from tests.ledger_fixtures import credentials_from_token

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_disable_enable_disconnect_are_listed_with_who_and_when(
    page, live_server, screenshot, sign_in_as, xero_emulator_server
):
    url, emulator = xero_emulator_server
    admin = MembershipFactory(role=Role.ADMIN, user__username="ada")
    MembershipFactory(role=Role.ADMIN, org=admin.org, user__username="bob")
    connection = Connection.objects.create(
        org=admin.org,
        provider=Provider.XERO,
        name="Xero",
        base_url=url,
        tenant_id=emulator.default_tenant_id,
        tenant_name="Demo Company (Emulated)",
    )
    connection.credentials = credentials_from_token(emulator.connect()).to_dict()
    connection.save()

    sign_in_as("ada")
    page.goto(f"{live_server.url}/integrations/{connection.pk}/")
    events = page.locator("#connection-events tbody tr")
    expect(events).to_have_text(["No events recorded yet."])
    page.get_by_role("button", name="Disable").click()
    expect(page.locator("#connection-status")).to_have_text("Disabled")
    page.get_by_role("button", name="Enable").click()
    expect(page.locator("#connection-status")).to_have_text("Active")

    page.context.clear_cookies()
    sign_in_as("bob")
    page.goto(f"{live_server.url}/integrations/{connection.pk}/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Disconnect").click()
    expect(page.locator("#connection-status")).to_have_text("Disconnected")

    # Newest first: what, who.
    expect(events).to_have_count(3)
    for row, (what, who) in zip(
        events.all(),
        [("Disconnected", "bob"), ("Enabled", "ada"), ("Disabled", "ada")],
        strict=True,
    ):
        expect(row.locator("td").nth(1)).to_have_text(what)
        expect(row.locator("td").nth(2)).to_have_text(who)
        expect(row.locator("td").nth(0)).to_have_text(
            re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
        )
    screenshot("connection-events")
    assert list(ConnectionEvent.objects.values_list("kind", "actor__username")) == [
        ("disconnected", "bob"),
        ("enabled", "ada"),
        ("disabled", "ada"),
    ]
