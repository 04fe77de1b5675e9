"""Issue 17, item 3, in the browser: Requires attention offers the fixes that work for entries
changed or voided in Xero behind our back. The voided bill's group has no Retry, and its
"Push as a new entry…" reaches the tab's dialog (opened by the link) and pushes it again; the
drifted bills' group pushes ours again through the bulk confirmation and its preview (nothing
sent until confirmed), and, once Xero changes them again, accepts Xero's version for the group
(audited, nothing sent). The ledger is the in-process Xero emulator; the test plays the worker
and the beat."""

import datetime

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import Role
from documents import services as document_services
from synclog import services
from synclog.models import RecordStatus, SyncRecord, SyncStatusChange
from tests.browser.conftest import acme_bills, message, push_pending
from tests.synclog.test_ledger_drift import ledger_date

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHANGED = "Changed in Xero since ledgersync pushed it"
VOIDED = "Voided in Xero"


@pytest.fixture
def drifted(ledger, enqueued):  # noqa: F811
    """Three bills in Xero: two whose due date was moved there, one voided there, all found by
    the reconcile."""
    admin, bills, connection = acme_bills(ledger, Role.ADMIN, "INV-5101", "INV-5102", "INV-5103")
    for bill in bills:
        document_services.document_approve(document=bill, actor=admin)
    push_pending()
    records = [SyncRecord.objects.get(document=bill) for bill in bills]
    assert all(record.status == RecordStatus.COMPLETE for record in records)
    for record in records[:2]:
        ledger.edit_invoice(record.external_id, {"DueDate": "2027-03-31"})
    ledger.void_invoice(records[2].external_id)
    assert services.connection_reconcile(connection_id=connection.pk).drifted == 3
    return admin, bills, records, connection


def group(page, text):
    return page.locator("article.attention-group").filter(has_text=text)


def test_the_voided_and_the_drifted_groups_are_fixed_the_ways_that_work(
    page, live_server, sign_in_as, screenshot, ledger, drifted
):
    admin, bills, records, connection = drifted
    sign_in_as(admin.get_username())
    attention = f"{live_server.url}{reverse('synclog:attention')}"

    # The voided bill's group: no Retry, but a new entry per row and the other way out.
    page.goto(attention)
    voided = group(page, VOIDED)
    expect(voided).to_contain_text("re-syncing it cannot help")
    expect(voided.get_by_role("button", name="Retry", exact=False)).to_have_count(0)
    expect(voided).to_contain_text("mark its record Complete in Sync History")
    screenshot("attention-voided-group")
    voided.get_by_role("button", name=f"Push {bills[2].number} as a new entry…").click()
    dialog = page.locator("#push-new-dialog")
    expect(dialog).to_be_visible()  # opened by the link
    expect(dialog).to_contain_text(f"Push Bill {bills[2].number} as a new entry?")
    screenshot("attention-voided-push-new-dialog")
    dialog.get_by_role("button", name="Create a new entry").click()
    push_pending()
    record = SyncRecord.objects.get(pk=records[2].pk)
    assert record.status == RecordStatus.COMPLETE
    assert ledger.invoice(record.external_id)["Status"] != "VOIDED"

    # The drifted bills' group: push ours again, through the bulk confirmation's preview.
    page.goto(attention)
    changed = group(page, CHANGED)
    expect(changed.get_by_role("button", name="Retry", exact=False)).to_have_count(0)
    start = len(ledger.state()["requests"])
    changed.get_by_role("button", name="Push ours again…").click()
    expect(page.locator("#bulk-confirm-group")).to_be_visible()
    preview = page.locator("#bulk-preview .resync-preview")
    expect(preview.locator(".preview-entry")).to_have_count(2)
    expect(preview.locator("[data-count='update']")).to_have_text("2 to update")
    expect(preview).to_contain_text("31 Mar 2027")
    screenshot("attention-drift-push-ours-preview")
    # Reading the ledger for the preview sent no change.
    assert {call["method"] for call in ledger.state()["requests"][start:]} <= {"GET"}
    assert SyncRecord.objects.filter(status=RecordStatus.PENDING).count() == 0
    page.get_by_role("button", name="Re-sync 2 documents").click()
    expect(message(page, "Re-sync of 2 documents started.")).to_be_visible()
    push_pending()
    for bill, record in zip(bills[:2], records[:2], strict=True):
        record.refresh_from_db()
        assert record.status == RecordStatus.COMPLETE
        assert ledger.invoice(record.external_id)["DueDate"] == ledger_date(bill.due_date)

    # Xero moves them again; this time Xero's version is accepted for the group.
    for record in records[:2]:
        ledger.edit_invoice(record.external_id, {"DueDate": "2027-04-30"})
    assert services.connection_reconcile(connection_id=connection.pk).drifted == 2
    page.goto(attention)
    start = len(ledger.state()["requests"])
    group(page, CHANGED).get_by_role("button", name="Accept Xero's for these 2…").click()
    expect(page.locator("#accept-ledger-confirm")).to_contain_text(CHANGED)
    screenshot("attention-drift-accept-confirm")
    page.get_by_role("button", name="Accept Xero's for these 2").click()
    expect(
        message(page, "Xero's version is accepted: 2 entries are marked Complete")
    ).to_be_visible()
    expect(group(page, CHANGED)).to_have_count(0)
    screenshot("attention-drift-accepted")
    assert ledger.state()["requests"][start:] == []  # nothing is sent
    for record in records[:2]:
        record.refresh_from_db()
        assert record.status == RecordStatus.COMPLETE
        assert ledger.invoice(record.external_id)["DueDate"] == ledger_date(
            datetime.date(2027, 4, 30)
        )
        change = SyncStatusChange.objects.get(record=record)
        assert change.actor == admin and "due date 2027-04-30 there" in change.note
