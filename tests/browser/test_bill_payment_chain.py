"""A bill and its payments as one thing, in the browser: the bill fails (its category has no
Xero mapping), its two payments wait for it; the Integrations tab shows them under the bill with
the chain's state, Requires attention shows one row with one Retry; once mapped, that Retry is
one run that pushes the bill, then each payment, as the emulator's request log shows.

The ledger is the Xero emulator in this process; the test plays the worker (a run's records
pushed as one batch, as the bulk queue's worker takes them).
"""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from documents import services as document_services
from synclog import services
from synclog.models import RecordStatus, SyncRecord, SyncRun, Trigger
from tests.browser.conftest import connect_xero, push_pending
from tests.factories import CategoryFactory, ContactFactory, DocumentFactory, MembershipFactory
from tests.ledger_fixtures import XeroBooks

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_failed_chain_is_shown_as_one_and_retried_in_order(
    page, live_server, screenshot, sign_in_as, ledger, enqueued
):
    membership = MembershipFactory(role=Role.SUPPORT, org__name="Acme Inc")
    support, org = membership.user, membership.org
    clerk = MembershipFactory(role=Role.AP_CLERK, org=org).user
    CategoryFactory(org=org, name="Office", code="429")
    travel = CategoryFactory(org=org, name="Travel", code="999")  # not in Xero's chart
    vendor = ContactFactory(org=org, name="Rail Co")
    connection = connect_xero(org, ledger)
    trip = DocumentFactory(org=org, contact=vendor, category=travel, number="TRIP-1")
    document_services.document_approve(document=trip, actor=clerk)
    for amount, day in (("30.00", "2026-11-05"), ("20.00", "2026-11-06")):
        document_services.payment_record(document=trip, actor=clerk, amount=amount, paid_at=day)
    push_pending(rounds=5)
    bill = SyncRecord.objects.get(document=trip, payment__isnull=True)
    payments = list(SyncRecord.objects.filter(document=trip, payment__isnull=False).order_by("pk"))
    assert bill.status == RecordStatus.FAILED
    assert all(payment.waits_for_bill for payment in payments)

    # The tab: the bill, its payments under it, and what the chain is waiting for.
    sign_in_as(support.username)
    page.goto(f"{live_server.url}/sync/documents/{trip.pk}/integrations/")
    expect(page.locator("#chain-state")).to_contain_text(
        "The bill entry failed; 2 of its payments wait for it and go right after it when it "
        "is retried."
    )
    for payment in payments:
        row = page.locator(f"#sync-records tbody[data-record-id='{payment.pk}']")
        expect(row).to_contain_text("Waiting for its bill")
        expect(row).to_contain_text("Waits for its bill entry, which failed")
    expect(page.locator("#log-refreshing")).to_have_count(0)  # nothing on its way
    screenshot("chain-tab-waiting")

    # Requires attention: one row for the chain, one Retry.
    page.get_by_role("link", name="Documents", exact=True).first.click()
    page.get_by_role("link", name=re.compile(r"^Requires attention")).click()
    group = page.locator("article.attention-group")
    expect(group).to_have_count(1)
    expect(group.get_by_role("heading")).to_have_text(
        "1 bill: Category Travel has no Xero mapping."
    )
    chain = group.locator("tbody.attention-chain")
    expect(chain).to_have_count(1)
    expect(chain).to_contain_text("and 2 payments waiting for it")
    expect(chain.locator("tr.chain-payment-row")).to_have_count(2)
    retry = chain.get_by_role("button", name="Retry TRIP-1 and its 2 payments")
    expect(retry).to_have_count(1)
    screenshot("chain-attention-row")

    # The fix (an account for Travel: test_requires_attention.py does it on the page), then the
    # chain's Retry.
    travel.code = "493"
    travel.save()
    XeroBooks(ledger).map_categories(connection)
    since = len(ledger.state()["requests"])
    retry.click()
    expect(page).to_have_url(re.compile(r"/sync/bulk/[0-9a-f-]{36}/$"))
    expect(page.locator(".messages")).to_contain_text(
        "Retry of Bill TRIP-1 started (3 entries, the bill first)."
    )
    run = SyncRun.objects.get(trigger=Trigger.RETRY)
    ids = list(SyncRecord.objects.filter(run=run).values_list("pk", flat=True))
    assert sorted(ids) == sorted([bill.pk, *(p.pk for p in payments)])
    # The worker: the run's records are one batch (a document's records go together).
    assert services.sync_batch_push(record_ids=ids, worker="browser-test") == {}
    expect(page.get_by_role("heading", name="Retry finished")).to_be_visible()
    expect(page.locator("#bulk-summary-1")).to_contain_text("3 synced")
    expect(page.locator("#bulk-summary-1")).to_contain_text("0 failed")
    screenshot("chain-retry-finished")
    # The ledger got the bill first, then the payments (one request for both, in their order).
    assert XeroBooks(ledger).writes_since(since) == ["bill", "payment"]
    bill.refresh_from_db()
    paid = [w for w in ledger.writes() if w["kind"] == "payment"]
    assert [w["Amount"] for w in paid] == ["30.00", "20.00"]
    assert all(w["InvoiceID"] == bill.external_id for w in paid)

    # The tab says the chain is in the ledger; nothing needs attention any more.
    page.goto(f"{live_server.url}/sync/documents/{trip.pk}/integrations/")
    expect(page.locator("#chain-state")).to_contain_text(
        "The bill entry and its 2 payments are in Xero."
    )
    screenshot("chain-tab-in-ledger")
    page.get_by_role("link", name="Documents", exact=True).first.click()
    page.get_by_role("link", name=re.compile(r"^Requires attention")).click()
    expect(page.locator("#attention-empty")).to_be_visible()
