"""The main pages keep to the Content-Security-Policy (no inline script or style, no eval): the
browser reports no violation on any of them, and the behaviour that used inline handlers still
works (dialogs, confirmations, submit on change)."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from documents.models import DocumentStatus
from integrations.models import Connection, Provider
from tests.factories import DocumentFactory, MembershipFactory, SyncRecordFactory, SyncRunFactory
from webhooks import services as webhook_services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Collected in every page before its own scripts run.
COLLECT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(event.violatedDirective + " " + (event.blockedURI || "inline")
    + " at " + (event.sourceFile || "") + ":" + event.lineNumber);
});
"""


@pytest.fixture
def violations(page):
    """Every CSP violation the browser reports, by event and in the console."""
    console = []
    page.on(
        "console",
        lambda message: (
            console.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    page.add_init_script(COLLECT_VIOLATIONS)

    def seen() -> list[str]:
        return console + page.evaluate("window.__cspViolations || []")

    return seen


@pytest.fixture
def acme(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True
    admin = MembershipFactory(role=Role.ADMIN, org__name="Acme Inc").user
    org = admin.memberships.get().org
    connection = Connection.objects.create(
        org=org, provider=Provider.XERO, name="Xero", tenant_name="Acme (Xero)"
    )
    bill = DocumentFactory(org=org, number="CSP-1", status=DocumentStatus.APPROVED)
    record = SyncRecordFactory(connection=connection, document=bill, missing_mapping=True)
    run = SyncRunFactory(connection=connection, missing_mapping=True)
    endpoint, _secret = webhook_services.webhook_endpoint_create(
        org=org, url="http://127.0.0.1:9/hook", events=["sync.completed"], actor=admin
    )
    return admin, bill, record, run, connection, endpoint


def test_the_main_pages_report_no_csp_violation(page, live_server, sign_in_as, acme, violations):
    admin, bill, record, run, connection, endpoint = acme
    sign_in_as(admin.username)
    response = page.goto(f"{live_server.url}/documents/")
    assert "script-src 'self'" in response.headers["content-security-policy"]

    pages = [
        "/documents/",
        "/documents/?status=approved",
        f"/documents/{bill.pk}/",
        f"/documents/{bill.pk}/edit/",
        f"/documents/{bill.pk}/payments/new/",
        "/documents/new/",
        f"/sync/documents/{bill.pk}/integrations/",
        "/sync/attention/",
        "/sync/history/",
        "/sync/history/?status=pending",
        "/sync/health/",
        f"/sync/health/runs/{run.public_id}/",
        f"/sync/health/connections/{connection.pk}/config/",
        "/sync/events/",
        "/integrations/",
        f"/integrations/{connection.pk}/",
        "/webhooks/",
        "/webhooks/new/",
        f"/webhooks/{endpoint.pk}/",
        "/settings/api-keys/",
        "/api/docs/",
    ]
    for path in pages:
        page.goto(live_server.url + path)
        page.wait_for_load_state("load")
        assert violations() == [], path
    expect(page.locator("#swagger-ui")).to_contain_text("ledgersync API")

    # What inline handlers did, done by static/js/app.js: the Re-sync dialog opens and closes...
    page.goto(f"{live_server.url}/sync/documents/{bill.pk}/integrations/")
    page.get_by_role("button", name="Re-sync").click()
    dialog = page.locator("#resync-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    # ...a dismissed confirmation keeps the form from being sent, an accepted one sends it...
    page.goto(f"{live_server.url}/documents/{bill.pk}/")
    page.once("dialog", lambda prompt: prompt.dismiss())
    page.get_by_role("button", name="Void").click()
    expect(page.locator("#document-status")).to_have_text("Approved")
    page.once("dialog", lambda prompt: prompt.accept())
    page.get_by_role("button", name="Void").click()
    expect(page.locator("#document-status")).to_have_text("Void")
    # ...and the Sync History filters still disable the dates for Pending.
    page.goto(f"{live_server.url}/sync/history/")
    page.get_by_label("Sync status").select_option("pending")
    expect(page.get_by_label("From")).to_be_disabled()
    expect(page).to_have_url(re.compile(r"status=pending"))
    assert violations() == []
