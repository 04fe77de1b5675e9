"""A bill's Integrations tab in the browser: a failure explained, its request and response, the
Re-sync dialog, and the new attempt appearing by itself; then the event log.

The ledger is the Xero emulator in this process (the `ledger` fixture routes every connector to
it, the live server thread included). Tasks are not sent to a broker: the test plays the worker
and pushes Pending records itself, while the page polls.
"""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from documents import services as document_services
from synclog.models import RecordStatus, SyncAttempt, SyncRecord, SyncRun, Trigger
from tests.browser.conftest import acme_bills, push_pending
from tests.browser_fixtures import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_integrations_tab_explains_a_failure_and_a_resync_lands_by_itself(
    page, live_server, screenshot, sign_in_as, ledger, enqueued
):
    clerk, (bill,), connection = acme_bills(ledger, Role.AP_CLERK, "INV-1042")

    # The accountant has locked the period in Xero: the bill's first push is refused.
    ledger.set_lock_date(lock_date="2026-12-31")
    document_services.document_approve(document=bill, actor=clerk)
    push_pending()
    record = SyncRecord.objects.get(document=bill)
    assert record.status == RecordStatus.FAILED
    failure = record.attempts.get()
    assert failure.explanation and failure.hint and failure.calls

    # From the documents list to the bill, then its Integrations tab.
    sign_in_as(clerk.get_username())
    page.get_by_role("link", name="INV-1042").click()
    tabs = page.get_by_role("navigation", name="Document sections")
    expect(tabs.get_by_role("link", name="Details")).to_have_attribute("aria-current", "page")
    screenshot("document-detail-tabs")
    tabs.get_by_role("link", name="Integrations").click()
    expect(page).to_have_url(re.compile(rf"/sync/documents/{bill.pk}/integrations/$"))
    expect(page.get_by_label("Connection")).to_have_value(str(connection.pk))

    state = page.locator(f"#sync-records tbody[data-record-id='{record.pk}']")
    expect(state).to_contain_text("Failed")
    expect(state.locator(".log-error .explanation")).to_contain_text(failure.explanation)
    expect(state.locator(".log-error .hint")).to_contain_text(failure.hint)
    row = page.locator(f"#attempt-log tbody[data-attempt-id='{failure.pk}']")
    expect(row).to_contain_text("Automatic")
    expect(row).to_contain_text("approved")
    expect(row).to_contain_text(clerk.get_username())
    expect(row).to_contain_text(str(failure.status_code))
    expect(row.locator(".hint")).to_contain_text(failure.hint)
    expect(page.locator("#log-refreshing")).to_have_count(0)
    screenshot("integrations-tab-failure")

    # The request and the ledger's answer, redacted.
    calls = row.locator("details.calls")
    expect(calls.locator(".call").first).to_be_hidden()
    calls.locator("summary").click()
    last_call = failure.calls[-1]
    expect(calls.locator(".call")).to_have_count(len(failure.calls))
    expect(calls.locator(".call").last).to_contain_text(f"{last_call['method']} {last_call['url']}")
    expect(calls.locator(".call").last).to_contain_text(f"HTTP {last_call['http_status']}")
    expect(calls.locator(".call").last.locator("pre").last).not_to_be_empty()
    assert connection.credentials["access_token"] not in page.content()
    screenshot("integrations-tab-request-response")

    # The accountant reopens the period; the clerk re-syncs the bill entry.
    ledger.set_lock_date(lock_date=None)
    page.get_by_role("button", name="Re-sync").click()
    dialog = page.locator("#resync-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Bill entry")).to_be_visible()
    expect(dialog.get_by_label("Payment entry")).to_have_count(0)
    expect(dialog).to_contain_text("The payment entry can be chosen once this bill is paid")
    dialog.get_by_label("Bill entry").check()
    # The viewport only: a modal's backdrop covers the screen, not the whole scrolled page.
    page.screenshot(path=str(ARTIFACTS / "integrations-resync-dialog.png"))
    dialog.get_by_role("button", name="Confirm re-sync").click()

    expect(page.get_by_role("status").filter(has_text="Re-sync of the bill entry")).to_be_visible()
    expect(page.locator("#log-refreshing")).to_be_visible()
    expect(state).to_contain_text("Pending")
    run = SyncRun.objects.get()
    assert (run.trigger, run.actor) == (Trigger.MANUAL, clerk)
    screenshot("integrations-tab-pending")

    # The worker (this test) pushes it; the page shows the new attempt without a reload.
    page.evaluate("window.notReloaded = true")
    push_pending()
    newest = SyncAttempt.objects.filter(record=record).first()
    assert newest.trigger == Trigger.MANUAL and newest.outcome == "success"
    new_row = page.locator(f"#attempt-log tbody[data-attempt-id='{newest.pk}']")
    expect(new_row).to_contain_text("Manual")
    expect(new_row).to_contain_text("re-sync of the bill entry")
    expect(new_row).to_contain_text("Created")
    expect(new_row).to_contain_text("2000")
    expect(page.locator("#attempt-log tbody.attempt").first).to_have_attribute(
        "data-attempt-id", str(newest.pk)
    )
    expect(page.locator("#sync-records")).to_contain_text("Complete")
    expect(page.locator("#log-refreshing")).to_have_count(0)
    expect(page.locator("#integration-log")).not_to_have_attribute("hx-trigger", re.compile("."))
    assert page.evaluate("window.notReloaded") is True
    record.refresh_from_db()
    expect(page.locator("#sync-records")).to_contain_text(record.external_number)
    screenshot("integrations-tab-after-resync")

    # A support agent's starting point: the event log, searched by the bill's number.
    page.goto(f"{live_server.url}/sync/events/")
    search = page.get_by_role("searchbox", name="Find a document's attempts")
    expect(search).to_be_focused()
    search.fill("1042")
    expect(page).to_have_url(re.compile(r"q=1042"))
    expect(page.locator("#event-table tbody tr")).to_have_count(2)
    expect(page.locator("#matching-documents")).to_contain_text("Bill INV-1042")
    failed_row = page.locator(f"#event-table tr[data-attempt-id='{failure.pk}']")
    expect(failed_row).to_contain_text(failure.hint)
    page.get_by_label("Outcome").select_option("failed")
    expect(page.locator("#event-table tbody tr")).to_have_count(1)
    page.get_by_label("Outcome").select_option("")
    expect(page.locator("#event-table tbody tr")).to_have_count(2)
    screenshot("event-log")
    failed_row.get_by_role("link", name="Bill INV-1042").click()
    expect(page).to_have_url(re.compile(rf"/sync/documents/{bill.pk}/integrations/\?connection="))
    expect(page.locator("#sync-records")).to_contain_text("Complete")
