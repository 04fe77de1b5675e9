"""Right after connecting a ledger (issue 17, item 7): the admin's next page and the connection
page say how many documents are not in the new ledger yet, "Preview them" shows what each would
create, and "Push them now" sends them.

The Xero emulator runs as a real HTTP server; the test plays the worker (push_pending)."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from documents.models import DocumentStatus
from integrations.models import Connection
from synclog.models import RecordStatus, SyncRecord, SyncRun, Trigger
from tests.browser.conftest import push_pending
from tests.browser.test_xero_connection import (
    MAPPINGS_URL,
    TENANT_NAME,
    message,
    open_integrations,
    wait_for_consent,
)
from tests.factories import (
    CategoryFactory,
    DocumentFactory,
    MembershipFactory,
    SyncRecordFactory,
)
from tests.ledger_fixtures import QboBooks, XeroBooks

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_connects_sees_what_is_not_in_the_ledger_and_pushes_it(
    page,
    live_server,
    screenshot,
    sign_in_as,
    xero_emulator_server,
    enqueued,
):
    emulator_url, emulator = xero_emulator_server
    membership = MembershipFactory(role=Role.ADMIN, org__name="Acme Inc")
    org = membership.org
    office = CategoryFactory(org=org, name="Office", code="429")
    # Approved, paid or void before any ledger was connected: nothing pushed them.
    for index in range(3):
        DocumentFactory(org=org, category=office, number=f"AP-{index}", status="approved")
    DocumentFactory(org=org, category=office, number="PAID-1", status=DocumentStatus.PAID)
    DocumentFactory(org=org, category=office, number="VOID-1", status=DocumentStatus.VOID)
    DocumentFactory(org=org, category=office, number="DRAFT-1", status=DocumentStatus.DRAFT)

    sign_in_as(membership.user.username)
    open_integrations(page)
    page.get_by_label("Name").fill("Xero demo")
    page.get_by_label("Emulator address").fill(emulator_url)
    page.get_by_role("button", name="Connect").click()
    wait_for_consent(page, emulator_url)
    page.get_by_role("button", name="Allow access").click()

    # The admin's next page: the mappings, with what the ledger does not hold yet.
    page.wait_for_url(MAPPINGS_URL)
    expect(message(page, f"Connected to {TENANT_NAME}.")).to_be_visible()
    prompt = page.locator("#unpushed-prompt")
    expect(prompt).to_contain_text(f"5 documents are not in {TENANT_NAME} yet")
    # What to map first: the documents' category has no account yet.
    expect(prompt.locator("#unmapped-before-push")).to_contain_text("Categories: Office")
    screenshot("connect-unpushed-prompt-mappings")
    page.get_by_role("button", name="Map categories by account code").click()
    expect(message(page, "1 category mapped by account code.")).to_be_visible()

    # The connection page says it too, and pushes them.
    connection = Connection.objects.get()
    page.get_by_role("link", name="Xero demo").first.click()
    expect(page).to_have_url(re.compile(rf"/integrations/{connection.pk}/$"))
    expect(prompt).to_contain_text(f"5 documents are not in {TENANT_NAME} yet")
    expect(page.locator("#unmapped-before-push")).to_have_count(0)  # mapped by code just now
    screenshot("connect-unpushed-prompt-connection")

    # What pushing them would create, before anything is sent (the bulk confirmation).
    prompt.get_by_role("button", name="Preview them").click()
    preview = page.locator(".resync-preview")
    expect(preview.locator(".preview-entry")).to_have_count(5)
    expect(preview.locator("[data-count='create']")).to_have_text("4 to create")
    expect(preview.locator("[data-count='unchanged']")).to_have_text("1 unchanged")
    expect(preview).to_contain_text("Voided before it reached Xero: nothing to send.")
    screenshot("connect-unpushed-preview")
    assert not SyncRecord.objects.exists()
    page.go_back()

    prompt.get_by_role("button", name="Push them now").click()

    expect(message(page, "Force sync started: 5 entries to push.")).to_be_visible()
    run = SyncRun.objects.get()
    assert (run.trigger, run.connection, run.actor) == (Trigger.FORCE, connection, membership.user)
    push_pending(rounds=5)
    assert not SyncRecord.objects.exclude(status=RecordStatus.COMPLETE).exists()
    assert sorted(i["InvoiceNumber"] for i in emulator.invoices()) == [
        "AP-0",
        "AP-1",
        "AP-2",
        "PAID-1",
    ]

    # In the ledger now: the prompt is gone from both pages.
    page.goto(f"{live_server.url}/integrations/{connection.pk}/")
    expect(page.locator("#connection-status")).to_be_visible()
    expect(page.locator("#unpushed-prompt")).to_have_count(0)
    page.goto(f"{live_server.url}/integrations/{connection.pk}/mappings/")
    expect(page.get_by_role("heading", name="Mappings", exact=True)).to_be_visible()
    expect(page.locator("#unpushed-prompt")).to_have_count(0)


def test_preview_on_one_of_two_ledgers_pushes_only_what_that_ledger_lacks_to_it(
    page,
    live_server,
    screenshot,
    sign_in_as,
    xero_emulator_server,
    qbo_emulator_server,
    enqueued,
):
    """Seen on the demo walk: with Xero and QuickBooks connected, the Xero page said "1 document
    is not in Demo Company yet", and its "Preview them" offered to re-sync 163 documents to both
    ledgers (the organisation's Not pushed filter)."""
    xero_url, xero_emulator = xero_emulator_server
    _, qbo_emulator = qbo_emulator_server
    membership = MembershipFactory(role=Role.ADMIN, org__name="Acme Inc")
    org = membership.org
    office = CategoryFactory(org=org, name="Office", code="429")
    xero = XeroBooks(xero_emulator).connect_org(org, base_url=xero_url, name="Xero walk")
    qbo = QboBooks(qbo_emulator).connect_org(org)
    not_in_xero = DocumentFactory(org=org, category=office, number="NX-1", status="approved")
    not_in_qbo = DocumentFactory(org=org, category=office, number="NQ-1", status="approved")
    for connection, document in ((qbo, not_in_xero), (xero, not_in_qbo)):
        SyncRecordFactory(connection=connection, document=document, status=RecordStatus.COMPLETE)

    sign_in_as(membership.user.username)
    page.goto(f"{live_server.url}/integrations/{xero.pk}/")
    prompt = page.locator("#unpushed-prompt")
    expect(prompt).to_contain_text("1 document is not in Xero walk yet")
    prompt.get_by_role("button", name="Preview it").click()

    confirmation = page.locator(".bulk-confirm-page")
    expect(confirmation.get_by_role("heading", name="Re-sync 1 document?")).to_be_visible()
    expect(page.locator("#bulk-confirm-text")).to_contain_text(
        "It will be pushed to Xero walk (Xero)."
    )
    expect(confirmation).not_to_contain_text("QuickBooks")
    preview = page.locator(".resync-preview")
    expect(preview.locator(".preview-entry")).to_have_count(1)
    expect(preview).to_contain_text("NX-1")
    screenshot("connect-unpushed-preview-one-of-two-ledgers")
    assert SyncRecord.objects.count() == 2

    confirmation.get_by_role("button", name="Re-sync 1 document").click()
    expect(message(page, "Re-sync of 1 document started.")).to_be_visible()
    run = SyncRun.objects.get()
    assert (run.connection, run.trigger, run.total) == (xero, Trigger.BULK, 1)
    push_pending(rounds=3)
    assert [i["InvoiceNumber"] for i in xero_emulator.invoices()] == ["NX-1"]
    assert qbo_emulator.writes() == []
    assert SyncRecord.objects.get(connection=xero, document=not_in_xero).status == (
        RecordStatus.COMPLETE
    )
    assert not SyncRecord.objects.filter(connection=qbo, document=not_in_qbo).exists()

    page.goto(f"{live_server.url}/integrations/{xero.pk}/")
    expect(page.locator("#connection-status")).to_be_visible()
    expect(page.locator("#unpushed-prompt")).to_have_count(0)
    page.goto(f"{live_server.url}/integrations/{qbo.pk}/")
    expect(page.locator("#unpushed-prompt")).to_contain_text(
        "1 document is not in QuickBooks Online yet"
    )
