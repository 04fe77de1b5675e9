"""A push dated in the ledger's locked period, in the browser (issue 17, item 2): the admin sees
Xero's lock date on the connection's page; the clerk's approved bill is held, not sent, and says
so in plain words with the fix on its Integrations tab and in Requires attention; the accountant
moves the lock date in Xero (the emulator), beat's refresh reads it, and the held bill is
released and pushed by itself.

The ledger is the Xero emulator in this process (the `ledger` fixture routes every connector to
it, the live server thread included). The test plays the worker and beat: it pushes Pending
records itself and runs beat's refresh task.
"""

import datetime

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from documents import services as document_services
from integrations import tasks as integration_tasks
from synclog.models import RecordStatus, SyncRecord
from synclog.services import marking
from tests.browser.conftest import push_pending
from tests.factories import CategoryFactory, ContactFactory, DocumentFactory, MembershipFactory
from tests.ledger_fixtures import XeroBooks

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_here(monkeypatch):
    """The records sent to the worker, kept here (the test pushes them); beat's refresh task
    runs here when sent, as a worker would run it."""
    sent = []
    monkeypatch.setattr(
        marking, "_send", lambda messages, queue, countdown=0: sent.extend(m[1] for m in messages)
    )
    monkeypatch.setattr(
        integration_tasks.connection_lock_date_refresh,
        "delay",
        lambda connection_id, refused=None: integration_tasks.connection_lock_date_refresh(
            connection_id, refused
        ),
    )
    return sent


def test_a_held_locked_period_push_is_released_when_the_ledger_moves_its_lock_date(
    page, live_server, screenshot, sign_in_as, ledger, worker_here, settings
):
    admin_membership = MembershipFactory(role=Role.ADMIN, org__name="Acme Inc")
    org, admin = admin_membership.org, admin_membership.user
    clerk = MembershipFactory(role=Role.AP_CLERK, org=org).user
    office = CategoryFactory(org=org, name="Office", code="429")
    vendor = ContactFactory(org=org, name="Paper Co")
    bill = DocumentFactory(
        org=org,
        contact=vendor,
        category=office,
        number="INV-2071",
        issue_date=datetime.date(2026, 11, 12),
        due_date=datetime.date(2026, 12, 12),
    )
    connection = XeroBooks(ledger).connect_org(org)

    # The accountant closed November in Xero. The admin reads the lock date on the page.
    ledger.set_lock_date(lock_date="2026-11-30")
    sign_in_as(admin.get_username())
    page.goto(f"{live_server.url}/integrations/{connection.pk}/")
    section = page.locator("#locked-periods")
    expect(section.locator("#lock-date")).to_contain_text("has not been read yet")
    section.get_by_role("button", name="Read the lock date again").click()
    expect(page.locator("#lock-date")).to_contain_text(
        "Xero is locked until 30 Nov 2026 (inclusive): PeriodLockDate 2026-11-30"
    )
    expect(page.get_by_label("Hold it until the ledger's lock date moves")).to_be_checked()
    screenshot("locked-period-connection")

    # The clerk approves a bill dated 12 Nov: it is held, nothing goes to Xero.
    document_services.document_approve(document=bill, actor=clerk)
    push_pending()
    record = SyncRecord.objects.get(document=bill)
    assert record.status == RecordStatus.FAILED and record.held_for_lock
    assert record.attempts.get().calls == []
    assert ledger.writes() == []

    page.context.clear_cookies()  # signed out
    sign_in_as(clerk.get_username())
    page.goto(f"{live_server.url}/sync/documents/{bill.pk}/integrations/")
    state = page.locator(f"#sync-records tbody[data-record-id='{record.pk}']")
    expect(state).to_contain_text("Held: locked period")
    expect(state.locator(f"#record-{record.pk}-held")).to_have_text(
        "Locked until 30 Nov 2026 in Xero: held, not sent."
    )
    expect(state.locator(".log-error .explanation")).to_contain_text(
        "this bill is dated 12 Nov 2026, so Xero would refuse it"
    )
    expect(state.locator(".log-error .hint")).to_contain_text("move the lock date")
    screenshot("locked-period-held-tab")

    page.goto(f"{live_server.url}/sync/attention/")
    group = page.locator("article.attention-group").filter(has_text="Locked until 30 Nov 2026")
    expect(group).to_have_count(1)
    expect(group).to_contain_text("INV-2071")
    expect(group.locator(".attention-hint")).to_contain_text("move the lock date")
    screenshot("locked-period-requires-attention")

    # The accountant reopens November in Xero; beat's refresh reads it and releases the bill.
    ledger.set_lock_date(lock_date="2026-10-31")
    settings.LEDGER_LOCK_DATE_REFRESH_SECONDS = 0
    worker_here.clear()  # the approval's task
    assert integration_tasks.lock_dates_refresh() == 1
    record.refresh_from_db()
    assert record.status == RecordStatus.PENDING
    assert worker_here == [record.pk]  # sent to the worker by itself
    push_pending()  # the worker
    record.refresh_from_db()
    assert record.status == RecordStatus.COMPLETE, record.last_error_message

    page.goto(f"{live_server.url}/sync/documents/{bill.pk}/integrations/")
    expect(state).to_contain_text("Complete")
    expect(state).to_contain_text(record.external_number)
    newest = page.locator("#attempt-log tbody.attempt").first
    expect(newest).to_contain_text("Xero's lock date moved")
    expect(newest).to_contain_text("2000")
    screenshot("locked-period-released-tab")
    page.goto(f"{live_server.url}/sync/attention/")
    expect(page.locator("article.attention-group")).to_have_count(0)
