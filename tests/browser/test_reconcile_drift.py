"""Issue 17, item 3, in the browser: a bill edited in Xero behind our back is found by the
periodic reconcile, shows on the document's Integrations tab (and in Requires attention) with
what Xero answered, and is fixed both ways: "Push ours again" puts the document back in Xero,
"Accept Xero's" keeps Xero's version and marks the record handled, audited. The ledger is the
in-process Xero emulator; the test plays the worker and the beat."""

import datetime

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import Role
from synclog import services
from synclog.models import SyncStatusChange
from tests.browser.conftest import push_pending, pushed_acme_bill
from tests.synclog.test_ledger_drift import ledger_date

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHANGED = "Changed in Xero since ledgersync pushed it"


@pytest.fixture
def pushed_bill(ledger, enqueued):  # noqa: F811
    return pushed_acme_bill(ledger, Role.ADMIN, "INV-3170")


def open_tab(page, bill):
    page.get_by_role("link", name=bill.number).first.click()
    page.get_by_role("navigation", name="Document sections").get_by_role(
        "link", name="Integrations"
    ).click()


def test_a_drift_made_in_xero_shows_on_the_tab_and_is_fixed_both_ways(
    page, live_server, sign_in_as, screenshot, ledger, pushed_bill
):
    admin, bill, connection, record = pushed_bill
    entry_row = page.locator(f"#sync-records tbody[data-record-id='{record.pk}']")

    # Someone moves the due date in Xero; the reconcile (beat, then a worker) finds it.
    ledger.edit_invoice(record.external_id, {"DueDate": "2027-03-31"})
    assert services.connection_reconcile(connection_id=connection.pk).drifted == 1

    sign_in_as(admin.get_username())
    open_tab(page, bill)
    expect(entry_row).to_contain_text("Failed")
    expect(entry_row.locator(".ledger-drift")).to_have_text(CHANGED)
    expect(entry_row).to_contain_text("due date 2027-03-31 there")
    finding = page.locator("#attempt-log tbody").first
    expect(finding).to_contain_text("Reconcile")
    finding.get_by_text("Request / response").click()
    expect(finding).to_contain_text("GET")
    expect(finding).to_contain_text(record.external_id)
    screenshot("drift-found-by-reconcile")

    # It is a group of its own in Requires attention.
    page.goto(f"{live_server.url}/sync/attention/")
    expect(page.get_by_text(CHANGED).first).to_be_visible()
    screenshot("drift-in-requires-attention")

    # Way one: push ours again, through the Re-sync dialog.
    tab = reverse("synclog:document-integrations", args=[bill.pk])
    page.goto(f"{live_server.url}{tab}?connection={connection.pk}")
    entry_row.get_by_role("button", name="Push ours again…").click()
    dialog = page.locator("#resync-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Bill entry").check()
    # The dialog's preview says what Xero holds now and what the push puts back.
    expect(dialog.locator(".resync-preview")).to_contain_text("31 Mar 2027")
    screenshot("drift-push-ours-again-preview")
    dialog.get_by_role("button", name="Confirm re-sync").click()
    push_pending()
    expect(entry_row).to_contain_text("Complete")
    expect(entry_row.locator(".ledger-drift")).to_have_count(0)
    assert ledger.invoice(record.external_id)["DueDate"] == ledger_date(bill.due_date)
    assert len(ledger.invoices()) == 1
    screenshot("drift-pushed-ours-again")

    # Way two: Xero changes it again, and this time Xero's version is accepted.
    ledger.edit_invoice(record.external_id, {"DueDate": "2027-04-30"})
    assert services.connection_reconcile(connection_id=connection.pk).drifted == 1
    page.reload()
    expect(entry_row.locator(".ledger-drift")).to_have_text(CHANGED)
    start = len(ledger.state()["requests"])
    entry_row.get_by_role("button", name="Accept Xero's").click()
    expect(page.get_by_role("status").filter(has_text="version is accepted")).to_be_visible()
    expect(entry_row).to_contain_text("Complete")
    screenshot("drift-accepted")
    assert ledger.state()["requests"][start:] == []  # nothing is sent
    assert ledger.invoice(record.external_id)["DueDate"] == ledger_date(datetime.date(2027, 4, 30))
    change = SyncStatusChange.objects.get(record=record)
    assert change.actor == admin and "due date 2027-04-30 there" in change.note
    # The accepted version is not found again by the next reconcile.
    assert services.connection_reconcile(connection_id=connection.pk).drifted == 0
