"""Wrong passwords in the browser: after the limit the sign-in page says to wait, even for the
right password, and an unknown username sees the very same page."""

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from tests.factories import TEST_PASSWORD, MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def try_sign_in(page, live_server, username, password):
    page.goto(f"{live_server.url}/sign-in/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("load")


def test_too_many_wrong_passwords_lock_the_sign_in(page, live_server, settings):
    settings.AXES_FAILURE_LIMIT = 3
    user = MembershipFactory(role=Role.AP_CLERK).user

    for _ in range(2):
        try_sign_in(page, live_server, user.username, "wrong")
        expect(page.get_by_role("alert")).to_contain_text("Please enter a correct username")
    try_sign_in(page, live_server, user.username, "wrong")
    expect(page.locator("#signin-lockout")).to_have_text(
        "Too many failed sign-ins for this account or from this address. "
        "Try again in 15 minutes, or ask an admin to reset your password."
    )
    try_sign_in(page, live_server, user.username, TEST_PASSWORD)
    expect(page.locator("#signin-lockout")).to_be_visible()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    # The address is locked too, and an unknown username gets the same page.
    try_sign_in(page, live_server, "nobody-here", "wrong")
    expect(page.locator("#signin-lockout")).to_be_visible()
