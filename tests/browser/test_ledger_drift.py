"""Issue 12, items 3 and 4, walked in the browser as an AP clerk: a bill changed in Xero behind
our back is repaired by Re-sync › Bill entry, and a bill voided in Xero shows as such and is
pushed as a new entry once the clerk confirms. The ledger is the in-process Xero emulator; the
test plays the worker. Every ledger call the emulator received is counted."""

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from documents import services as document_services
from synclog.models import RecordStatus, SyncRecord
from tests.browser.conftest import push_pending, pushed_acme_bill
from tests.synclog.test_ledger_drift import ledger_date

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pushed_bill(ledger, enqueued):  # noqa: F811
    return pushed_acme_bill(ledger, Role.AP_CLERK, "INV-2040")


def requests_since(ledger, start: int) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in ledger.state()["requests"][start:]]


def open_tab(page, sign_in_as, clerk, bill):
    sign_in_as(clerk.get_username())
    page.get_by_role("link", name=bill.number).click()
    page.get_by_role("navigation", name="Document sections").get_by_role(
        "link", name="Integrations"
    ).click()


def test_resync_repairs_a_due_date_changed_in_xero(
    page, sign_in_as, screenshot, ledger, pushed_bill
):
    clerk, bill, connection, record = pushed_bill
    # Someone moves the due date in Xero itself.
    ledger.edit_invoice(record.external_id, {"DueDate": "2027-03-31"})
    start = len(ledger.state()["requests"])

    open_tab(page, sign_in_as, clerk, bill)
    page.get_by_role("button", name="Re-sync").click()
    dialog = page.locator("#resync-dialog")
    dialog.get_by_label("Bill entry").check()
    dialog.get_by_role("button", name="Confirm re-sync").click()
    expect(page.locator("#log-refreshing")).to_be_visible()
    push_pending()

    newest = record.attempts.first()
    row = page.locator(f"#attempt-log tbody[data-attempt-id='{newest.pk}']")
    expect(row).to_contain_text("Updated")
    expect(row).to_contain_text("2000")
    expect(page.locator("#log-refreshing")).to_have_count(0)
    screenshot("drift-repaired")
    entry = f"/api.xro/2.0/Invoices/{record.external_id}"
    # The dialog's preview read it (GET /Invoices?IDs=…), then the push read it and wrote.
    assert requests_since(ledger, start) == [
        "GET /api.xro/2.0/Invoices",
        f"GET {entry}",
        f"POST {entry}",
    ]
    assert ledger.invoice(record.external_id)["DueDate"] == ledger_date(bill.due_date)
    assert len(ledger.invoices()) == 1


def test_a_bill_voided_in_xero_is_shown_and_pushed_as_a_new_entry(
    page, sign_in_as, screenshot, ledger, pushed_bill
):
    clerk, bill, connection, record = pushed_bill
    old_id = record.external_id
    ledger.void_invoice(old_id)
    # The clerk pays the bill here; Xero refuses the payment of a voided bill.
    document_services.payment_record(
        document=bill, actor=clerk, amount=str(bill.total), paid_at="2026-11-05"
    )
    push_pending()
    payment = SyncRecord.objects.get(document=bill, payment__isnull=False)
    assert payment.status == RecordStatus.FAILED

    open_tab(page, sign_in_as, clerk, bill)
    entry_row = page.locator(f"#sync-records tbody[data-record-id='{record.pk}']")
    expect(entry_row).to_contain_text("Failed")
    expect(entry_row.locator(".ledger-gone")).to_have_text("Voided in Xero")
    expect(entry_row.locator(".hint")).to_contain_text("Push as a new entry")
    payment_row = page.locator(f"#sync-records tbody[data-record-id='{payment.pk}']")
    expect(payment_row.locator(".hint")).to_contain_text("push the bill entry as a new entry")
    # No hint sends the clerk back to a re-sync that cannot help.
    expect(entry_row.locator(".hint")).not_to_contain_text("re-sync")
    screenshot("voided-in-xero")

    # Cancelling changes nothing.
    start = len(ledger.state()["requests"])
    page.get_by_role("button", name="Push as a new entry…").click()
    dialog = page.locator("#push-new-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("stays as it is")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    assert requests_since(ledger, start) == []

    page.get_by_role("button", name="Push as a new entry…").click()
    dialog.get_by_role("button", name="Create a new entry").click()
    expect(page.get_by_role("status").filter(has_text="as a new entry")).to_be_visible()
    expect(page.locator("#log-refreshing")).to_be_visible()
    push_pending()
    push_pending()  # the payment waits for its bill entry
    expect(page.locator("#log-refreshing")).to_have_count(0)
    expect(entry_row).to_contain_text("Complete")
    expect(payment_row).to_contain_text("Complete")
    expect(entry_row.locator(".ledger-gone")).to_have_count(0)
    screenshot("pushed-as-new-entry")

    record.refresh_from_db()
    assert record.external_id != old_id
    assert ledger.invoice(old_id)["Status"] == "VOIDED"
    assert ledger.invoice(record.external_id)["Status"] == "PAID"
    assert len(ledger.invoices()) == 2
    creates = [c for c in requests_since(ledger, start) if c.startswith("PUT")]
    assert creates == ["PUT /api.xro/2.0/Invoices", "PUT /api.xro/2.0/Payments"]
