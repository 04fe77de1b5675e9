"""A partner's connect link, as the company's owner follows it: create the admin sign-in, land on
Integrations, connect Xero through the emulator's consent page; the partner then sees the
connection, active and healthy, over its API."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Membership, Role
from integrations.models import Connection, ConnectionStatus
from partners import services as partner_services
from partners.models import Partner
from tests.api.conftest import make_client
from tests.browser.test_xero_connection import wait_for_consent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a long pass phrase 42"


def test_the_owner_follows_the_connect_link_and_connects_xero(
    page, live_server, screenshot, xero_emulator_server
):
    emulator_url, _ = xero_emulator_server
    partner = Partner.objects.create(name="Acme Expenses")
    api = make_client(
        partner_services.partner_key_create(partner=partner, name="ERP", actor=None).plaintext
    )
    company = api.post(
        "/api/v1/partner/organizations", {"name": "Initech", "currency": "EUR"}, format="json"
    ).json()
    link = api.post(f"/api/v1/partner/organizations/{company['id']}/connect-links").json()
    url = re.sub(r"^https?://[^/]+", live_server.url, link["url"])

    page.goto(url)
    expect(page.get_by_role("heading", name="Set up Initech")).to_be_visible()
    page.get_by_label("Username").fill("owner")
    page.get_by_label("Email").fill("owner@initech.test")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    screenshot("partner-connect-link")
    page.get_by_role("button", name="Create my sign-in").click()

    expect(page.get_by_role("heading", name="Integrations")).to_be_visible()
    expect(page.locator(".messages")).to_contain_text("Welcome to Initech.")
    membership = Membership.objects.get(user__username="owner")
    assert (membership.org_id, membership.role) == (company["id"], Role.ADMIN)

    page.get_by_label("Emulator address").fill(emulator_url)
    page.get_by_role("button", name="Connect").click()
    wait_for_consent(page, emulator_url)
    page.get_by_role("button", name="Allow access").click()
    page.wait_for_url(re.compile(r"/integrations/\d+/mappings/$"))
    connection = Connection.objects.get(org_id=company["id"])
    assert connection.status == ConnectionStatus.ACTIVE

    (health,) = api.get("/api/v1/partner/connections").json()["results"]
    assert (health["id"], health["status"], health["healthy"]) == (connection.pk, "active", True)

    # The link worked once.
    page.goto(url)
    expect(page.locator("#connect-link-gone")).to_be_visible()
