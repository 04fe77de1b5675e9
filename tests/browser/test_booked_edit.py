"""Issue 12, item 5, in the browser: a clerk edits a bill that Xero holds as paid. The edit page
warns before saving; the save asks for confirmation; the push that follows is refused once and
the Integrations tab says why. The ledger's calls are counted at the in-process emulator."""

import pytest
from playwright.sync_api import expect

from documents import services as document_services
from synclog.models import RecordStatus, SyncRecord
from tests.browser.conftest import push_pending
from tests.browser.test_ledger_drift import pushed_bill  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_editing_a_bill_paid_in_xero_warns_and_fails_once_with_the_reason(
    page,
    live_server,
    sign_in_as,
    screenshot,
    ledger,
    pushed_bill,  # noqa: F811
):
    clerk, bill, connection, record = pushed_bill
    document_services.payment_record(
        document=bill, actor=clerk, amount=str(bill.total), paid_at="2026-11-05"
    )
    push_pending()
    record.refresh_from_db()
    assert record.booked

    sign_in_as(clerk.get_username())
    page.goto(f"{live_server.url}/documents/{bill.pk}/edit/")
    warning = page.locator("#booked-warning")
    expect(warning).to_contain_text("Xero holds this bill as paid")
    expect(warning).to_contain_text("its push to the ledger will fail")
    screenshot("booked-edit-warning")

    start = len(ledger.state()["requests"])
    page.get_by_label("Number").fill("INV-2040-B")
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="saved")).to_be_visible()
    assert asked and "will refuse" in asked[0]

    for _ in range(3):  # the worker's later rounds find nothing more to send
        push_pending()
    writes = [r for r in ledger.state()["requests"][start:] if r["method"] != "GET"]
    assert [(r["method"], r["status"]) for r in writes] == [("POST", 400)]
    record = SyncRecord.objects.get(pk=record.pk)
    assert record.status == RecordStatus.FAILED

    page.goto(f"{live_server.url}/sync/documents/{bill.pk}/integrations/")
    row = page.locator(f"#sync-records tbody[data-record-id='{record.pk}']")
    expect(row).to_contain_text("Failed")
    expect(row.locator(".explanation")).to_contain_text("paid, voided or otherwise closed")
