"""Connecting Xero when something is off: an address that is not the configured emulator, and a
token service answering 200 without an access token. The admin reads our explanation; the
ledger's raw answer stays in the log."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from integrations.emulators.xero import running_emulator
from integrations.models import Connection
from tests.browser.conftest import message
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_only_the_configured_emulator_address_is_accepted(
    page, live_server, screenshot, sign_in_as, xero_emulator_server
):
    url, emulator = xero_emulator_server
    admin = MembershipFactory(role=Role.ADMIN)
    # Something else listening on this machine, e.g. a service on another port.
    with running_emulator(port=0) as (other_url, other):
        sign_in_as(admin.user.username)
        page.get_by_role("link", name="Integrations", exact=True).click()
        page.get_by_label("Emulator address").fill(other_url)
        page.get_by_role("button", name="Connect").click()

        # The configured emulators are named (Xero's first; QuickBooks Online's after it).
        expect(page.locator("form").filter(has_text="Emulator address")).to_contain_text(
            f"Only the configured ledger emulator may stand in for the ledger: {url}"
        )
        screenshot("xero-connect-other-port-refused")
        assert page.url == f"{live_server.url}/integrations/"
        assert other.state()["requests"] == []
    assert not Connection.objects.exists()


def test_a_token_answer_without_access_token_is_a_clear_error(
    page, live_server, screenshot, sign_in_as, xero_emulator_server
):
    url, emulator = xero_emulator_server
    admin = MembershipFactory(role=Role.ADMIN)
    emulator.set_faults(token_without_access_token_next=1)

    sign_in_as(admin.user.username)
    page.get_by_role("link", name="Integrations", exact=True).click()
    page.get_by_label("Emulator address").fill(url)
    page.get_by_role("button", name="Connect").click()
    page.wait_for_url(f"{url}/identity/connect/authorize?*")
    page.get_by_role("button", name="Allow access").click()

    page.wait_for_url(f"{live_server.url}/integrations/")
    error = message(page, "Connecting failed")
    expect(error).to_have_class(re.compile(r"message-error"))
    expect(error).to_contain_text("did not answer as Xero's token service does")
    expect(error).not_to_contain_text("token_type")  # the raw answer is logged, not shown
    screenshot("xero-connect-token-without-access-token")
    assert not Connection.objects.exists()
