"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server (the
browser, `page` and `sign_in_as` are tests/browser_fixtures.py's, shared with the API docs test)."""

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from documents import services as document_services
from integrations.emulators.myob import running_emulator as running_myob_emulator
from integrations.emulators.qbo.server import running_emulator as running_qbo_emulator
from integrations.emulators.xero import running_emulator as running_xero_emulator
from integrations.models import Connection
from synclog import services
from synclog.models import RecordStatus, SyncRecord
from tests.browser_fixtures import ARTIFACTS
from tests.factories import CategoryFactory, ContactFactory, DocumentFactory, MembershipFactory
from tests.ledger_fixtures import XeroBooks

# Tasks the pages send, kept in a list instead of going to a broker (the engine tests' fixture):
# the test plays the worker with push_pending(). A broker that is down is tests/conftest.py's
# dead_broker (the sends really happen, and fail).
from tests.synclog.conftest import enqueued  # noqa: F401


@pytest.fixture
def screenshot(page):
    def take(name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def served_emulator(settings, running_emulator, url_setting: str):
    """An emulator as a real HTTP server on a free loopback port: yields (url, emulator).

    Its address is the configured emulator address (`url_setting`) for the test (the live server
    thread reads the same settings object); the server is stopped when the test ends.
    """
    settings.LEDGER_EMULATOR_ALLOWED = True
    with running_emulator(port=0) as (url, emulator):
        setattr(settings, url_setting, url)
        yield url, emulator


@pytest.fixture
def xero_emulator_server(settings):
    """The Xero emulator as a real HTTP server: (url, emulator)."""
    yield from served_emulator(settings, running_xero_emulator, "XERO_EMULATOR_URL")


@pytest.fixture
def qbo_emulator_server(settings):
    """The QuickBooks Online emulator as a real HTTP server: (url, emulator)."""
    yield from served_emulator(settings, running_qbo_emulator, "QBO_EMULATOR_URL")


@pytest.fixture
def myob_emulator_server(settings):
    """The MYOB emulator as a real HTTP server: (url, emulator)."""
    yield from served_emulator(settings, running_myob_emulator, "MYOB_EMULATOR_URL")


# Helpers for the tests (plain functions: `from tests.browser.conftest import …`).


def connect_xero(org, ledger) -> Connection:
    return XeroBooks(ledger).connect_org(org)


def acme_bills(ledger, role, *numbers) -> tuple:
    """A member of Acme Inc with `role`, their bills numbered `numbers` (from Paper Co, booked to
    Office, account 429), and Acme connected to the in-process Xero emulator and mapped:
    (member, bills, connection)."""
    membership = MembershipFactory(role=role, org__name="Acme Inc")
    org = membership.org
    office = CategoryFactory(org=org, name="Office", code="429")
    vendor = ContactFactory(org=org, name="Paper Co")
    bills = [
        DocumentFactory(org=org, contact=vendor, category=office, number=number)
        for number in numbers
    ]
    return membership.user, bills, connect_xero(org, ledger)


def pushed_acme_bill(ledger, role, number) -> tuple:
    """Acme's bill approved by its member and pushed to Xero, Complete:
    (member, bill, connection, record)."""
    member, (bill,), connection = acme_bills(ledger, role, number)
    document_services.document_approve(document=bill, actor=member)
    push_pending()
    record = SyncRecord.objects.get(document=bill)
    assert record.status == RecordStatus.COMPLETE
    return member, bill, connection, record


def push_pending(rounds: int = 1) -> None:
    """Play the worker: push every Pending record once (as if its retry time had come); with
    `rounds`, again while any is left (a push may leave one Pending, or add one), at most
    `rounds` times."""
    for _ in range(rounds):
        ids = list(
            SyncRecord.objects.filter(status=RecordStatus.PENDING).values_list("pk", flat=True)
        )
        if not ids:
            return
        SyncRecord.objects.filter(pk__in=ids).update(next_retry_at=None)
        for record_id in ids:
            services.sync_record_push(record_id=record_id, worker="browser-test")


def message(page, text):
    """The flash message that says `text`."""
    return page.locator(".messages .message").filter(has_text=text)


MAPPINGS_URL = re.compile(r"/integrations/\d+/mappings/$")


def connect_on_consent_page(
    page, screenshot, *, ledger, name, emulator_url, consent, heading, company, allow, shot
) -> Connection:
    """An admin connects a ledger as a person does: chooses it on the Integrations page's form
    (which fills in its emulator's address), names the connection, chooses `company` on the
    ledger's (emulated) consent page at `consent` and is back on the mappings page."""
    page.get_by_role("link", name="Integrations", exact=True).click()
    page.get_by_role("combobox", name=re.compile("^Ledger")).select_option(label=ledger)
    expect(page.get_by_label("Emulator address")).to_have_value(emulator_url)
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Connect").click()

    page.wait_for_url(f"{emulator_url}{consent}?*")
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    screenshot(shot)
    page.get_by_label(company).check()
    page.get_by_role("button", name=allow).click()

    page.wait_for_url(MAPPINGS_URL)
    expect(message(page, f"Connected to {company}.")).to_be_visible()
    return Connection.objects.get()


def approve_and_push(page, screenshot, bill, *, shot) -> SyncRecord:
    """Approve `bill` on its page, play the worker until its entry is pushed and see it Complete
    on the document's Integrations tab. A push the ledger answered 429 stays Pending and goes
    again a moment later, as the worker's task would (the pages' reads are not in the engine's
    quota: MYOB's mappings page may have spent the API key's second)."""
    page.get_by_role("link", name="Documents", exact=True).first.click()
    page.get_by_role("link", name=bill.number).click()
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#document-status")).to_have_text("Approved")
    deadline = time.monotonic() + 15
    while SyncRecord.objects.filter(document=bill, status=RecordStatus.PENDING).exists():
        assert time.monotonic() < deadline, SyncRecord.objects.get(document=bill).__dict__
        push_pending()
        page.wait_for_timeout(250)

    record = SyncRecord.objects.get(document=bill)
    assert record.status == RecordStatus.COMPLETE, record.__dict__
    page.get_by_role("navigation", name="Document sections").get_by_role(
        "link", name="Integrations"
    ).click()
    state = page.locator(f"#sync-records tbody[data-record-id='{record.pk}']")
    expect(state).to_contain_text("Complete")
    screenshot(shot)
    return record
