"""Issue 17, "Check the ledger now", in the browser with a real Celery worker against the Xero
emulator over HTTP: a bill is pushed by the worker, someone edits it in Xero, the admin clicks
"Check the ledger now" on the connection page instead of waiting for beat's next turn (there is
no beat here), the section follows the check by itself (htmx), and the edit shows on the
document's Integrations tab. Nothing is played by the test. Without JavaScript the button
works as a plain form."""

import os

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import Role
from bench.harness.processes import wait_until
from documents import services as document_services
from synclog.models import RecordStatus, SyncRecord
from tests.factories import (
    TEST_PASSWORD,
    CategoryFactory,
    ContactFactory,
    DocumentFactory,
    MembershipFactory,
)
from tests.ledger_books import XeroBooks
from tests.synclog.worker_harness import FAST_SYNC, worker_pool

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHANGED = "Changed in Xero since ledgersync pushed it"


@pytest.mark.worker
@pytest.mark.skipif(
    not os.environ.get("REDIS_URL"),
    reason="a real worker needs a Redis broker: set REDIS_URL (CI does)",
)
def test_an_edit_in_xero_shows_on_the_tab_after_check_the_ledger_now(
    page, live_server, sign_in_as, screenshot, settings, tmp_path, xero_emulator_server
):
    for name, value in FAST_SYNC.items():
        setattr(settings, name, value)
    url, emulator = xero_emulator_server
    membership = MembershipFactory(role=Role.ADMIN, org__name="Acme Inc")
    admin, org = membership.user, membership.org
    office = CategoryFactory(org=org, name="Office", code="429")
    vendor = ContactFactory(org=org, name="Paper Co")
    bill = DocumentFactory(org=org, contact=vendor, category=office, number="INV-1717")
    connection = XeroBooks(emulator).connect_org(org, base_url=url)

    with worker_pool(tmp_path, broker_url=settings.CELERY_BROKER_URL) as pool:
        pool.start()  # no beat: the only reconcile is the one the admin asks for
        document_services.document_approve(document=bill, actor=admin)
        record = SyncRecord.objects.get(document=bill)
        wait_until(
            lambda: SyncRecord.objects.get(pk=record.pk).status == RecordStatus.COMPLETE,
            timeout=30,
            what="the worker's push of the bill",
        )
        record.refresh_from_db()
        # Someone moves the due date in Xero itself.
        emulator.edit_invoice(record.external_id, {"DueDate": "2027-03-31"})

        sign_in_as(admin.get_username())
        page.goto(f"{live_server.url}{reverse('integrations:detail', args=[connection.pk])}")
        section = page.locator("#ledger-check")
        expect(section.locator("#ledger-check-last")).to_have_text("Not checked yet")
        expect(section.locator("#ledger-check-read")).to_have_text("—")
        section.get_by_role("button", name="Check the ledger now").click()
        expect(section.locator("#ledger-check-notice")).to_contain_text("Checking Xero now")
        screenshot("check-ledger-now-queued")
        # The section polls until the worker's check has ended, with no reload.
        expect(section.locator("#ledger-check-drifted")).to_contain_text("1 entry", timeout=30_000)
        expect(section.locator("#ledger-check-read")).to_have_text("1 changed in Xero")
        expect(section.locator("#ledger-check-progress")).to_have_count(0)
        expect(section.locator("#ledger-check-last")).not_to_have_text("Not checked yet")
        screenshot("check-ledger-now-done")

        # The edit shows on the document's tab.
        tab = reverse("synclog:document-integrations", args=[bill.pk])
        page.goto(f"{live_server.url}{tab}?connection={connection.pk}")
        entry_row = page.locator(f"#sync-records tbody[data-record-id='{record.pk}']")
        expect(entry_row).to_contain_text("Failed")
        expect(entry_row.locator(".ledger-drift")).to_have_text(CHANGED)
        expect(entry_row).to_contain_text("due date 2027-03-31 there")
        screenshot("check-ledger-now-drift-on-tab")


def test_the_events_table_shows_the_request_without_a_reload(
    page, live_server, sign_in_as, screenshot, monkeypatch, ledger
):
    """The click swaps the check section in; the Events table below it follows out of band,
    with who asked, on the same page (no navigation)."""
    from synclog import tasks

    sent = []
    monkeypatch.setattr(
        tasks.ledger_reconcile, "apply_async", lambda args, queue=None: sent.append(args[0])
    )
    membership = MembershipFactory(role=Role.ADMIN, org__name="Acme Inc")
    connection = XeroBooks(ledger).connect_org(membership.org)
    sign_in_as(membership.user.get_username())
    page.goto(f"{live_server.url}{reverse('integrations:detail', args=[connection.pk])}")
    section = page.locator("#ledger-check")
    expect(section.locator("#ledger-check-last")).to_have_text("Not checked yet")
    expect(section.locator("#ledger-check-drifted")).to_have_text("—")
    events = page.locator("#connection-events tbody tr[data-event-kind='ledger_check']")
    expect(events).to_have_count(0)
    page.evaluate("window.notReloaded = true")

    section.get_by_role("button", name="Check the ledger now").click()
    expect(section.locator("#ledger-check-notice")).to_contain_text("Checking Xero now")
    expect(events).to_have_count(1)
    expect(events).to_contain_text("Ledger check requested")
    expect(events).to_contain_text(membership.user.get_username())
    # One Events section, in its place under the check, and the same page.
    expect(page.locator("#connection-events-section")).to_have_count(1)
    assert page.evaluate("window.notReloaded") is True
    events.scroll_into_view_if_needed()
    screenshot("check-ledger-now-events")
    assert sent == [connection.pk]


def test_without_javascript_the_button_is_a_form_that_comes_back_with_the_answer(
    browser, live_server, monkeypatch, ledger
):
    from synclog import tasks

    sent = []
    monkeypatch.setattr(
        tasks.ledger_reconcile, "apply_async", lambda args, queue=None: sent.append(args[0])
    )
    membership = MembershipFactory(role=Role.ADMIN, org__name="Acme Inc")
    connection = XeroBooks(ledger).connect_org(membership.org)
    context = browser.new_context(java_script_enabled=False)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/sign-in/")
        page.get_by_label("Username").fill(membership.user.get_username())
        page.get_by_label("Password").fill(TEST_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"{live_server.url}{reverse('integrations:detail', args=[connection.pk])}")
        page.get_by_role("button", name="Check the ledger now").click()
        expect(page.locator(".messages")).to_contain_text("Checking Xero now")
        expect(page.locator("#ledger-check-progress")).to_contain_text("A check is queued")
        assert page.url.endswith("#ledger-check")
        page.get_by_role("button", name="Check the ledger now").click()
        expect(page.locator(".messages")).to_contain_text("already queued")
    finally:
        context.close()
    assert sent == [connection.pk]
