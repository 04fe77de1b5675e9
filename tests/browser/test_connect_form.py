"""The connect form's emulator address follows the chosen ledger even when the ledger is chosen
before the page's deferred script has run (a fast hand; a loaded machine): seen once as a
browser test that connected MYOB with Xero's address still in the field."""

import re
import time

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_ledger_chosen_before_the_script_ran_still_gets_its_emulator_address(
    page, live_server, sign_in_as, settings
):
    settings.LEDGER_EMULATOR_ALLOWED = True
    settings.XERO_EMULATOR_URL = "http://127.0.0.1:18123"
    settings.MYOB_EMULATOR_URL = "http://127.0.0.1:18127"
    membership = MembershipFactory(role=Role.ADMIN)
    sign_in_as(membership.user.username)

    # Hold connect.js back (a deferred script: the page is parsed, the form usable) until the
    # ledger has been chosen.
    held = []
    page.route(re.compile(r".*/js/connect\.js$"), lambda route: held.append(route))
    page.goto(f"{live_server.url}/integrations/", wait_until="commit")
    ledger = page.get_by_role("combobox", name=re.compile("^Ledger"))
    ledger.select_option(label="MYOB Business")
    expect(page.get_by_label("Emulator address")).to_have_value("http://127.0.0.1:18123")
    deadline = time.monotonic() + 10
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(50)  # the route's callback runs while Playwright waits
    assert held, "connect.js was not requested"
    held[0].continue_()

    expect(page.get_by_label("Emulator address")).to_have_value("http://127.0.0.1:18127")
    # And it keeps following the choice afterwards.
    ledger.select_option(label="Xero")
    expect(page.get_by_label("Emulator address")).to_have_value("http://127.0.0.1:18123")
