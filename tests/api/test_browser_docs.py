"""In the browser: an admin creates an API key (shown once), then a partner developer uses only
/api/docs/ (Swagger UI served from our static files) to authorise with it and call the API."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import ApiKey, Role
from tests.browser_fixtures import ARTIFACTS
from tests.factories import ContactFactory, MembershipFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.urls("tests.api.urls_with_api_keys"),
]


def screenshot_path(name: str):
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS / f"{name}.png"


def test_create_a_key_then_call_the_api_from_the_docs(page, live_server, sign_in_as):
    membership = MembershipFactory(role=Role.ADMIN, org__name="Acme Inc")
    ContactFactory(org=membership.org, name="Paper Co")
    sign_in_as(membership.user.username)

    page.goto(f"{live_server.url}/settings/api-keys/")
    expect(page.get_by_role("heading", name="API keys")).to_be_visible()
    expect(page.get_by_text("No API key yet")).to_be_visible()
    page.get_by_label("Name").fill("Expense app (production)")
    page.get_by_role("button", name="Create key").click()
    new_key = page.locator("#new-key-value")
    expect(new_key).to_have_value(re.compile(r"^lsk_[0-9a-f]{8}_"))
    key = new_key.input_value()
    expect(page.locator("#api-keys")).to_contain_text("Expense app (production)")
    page.screenshot(path=str(screenshot_path("api-keys-created")), full_page=True)
    assert ApiKey.objects.get().hashed_key != key

    # Only /api/docs/ from here on: no CDN, everything from our own static files.
    outside = []
    page.on(
        "request",
        lambda request: (
            outside.append(request.url)
            if not request.url.startswith(live_server.url) and not request.url.startswith("data:")
            else None
        ),
    )
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.get_by_text("ledgersync API").first).to_be_visible()
    expect(page.get_by_text("/api/v1/syncs/{sync_id}/retry-failed")).to_be_visible()
    page.screenshot(path=str(screenshot_path("api-docs")))  # the top: a full page is huge

    page.get_by_role("button", name=re.compile("Authorize")).first.click()
    page.locator(".auth-container input").first.fill(key)
    page.get_by_role("button", name="Apply credentials").click()
    expect(page.get_by_role("button", name="Remove authorization")).to_be_visible()
    page.locator(".auth-btn-wrapper .btn-done").click()

    operation = page.locator("#operations-Contacts-contacts_list")
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    response = operation.locator(".responses-wrapper .live-responses-table")
    expect(response.locator("tr.response .response-col_status")).to_contain_text("200")
    expect(response).to_contain_text("Paper Co")
    operation.scroll_into_view_if_needed()
    operation.screenshot(path=str(screenshot_path("api-docs-try-it-out")))
    assert outside == []
