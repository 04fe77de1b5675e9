"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server."""

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from integrations.emulators.myob import running_emulator as running_myob_emulator
from integrations.emulators.qbo.server import running_emulator as running_qbo_emulator
from integrations.emulators.xero import running_emulator
from integrations.models import Connection
from synclog import services
from synclog.models import RecordStatus, SyncRecord
from tests.browser_fixtures import ARTIFACTS
from tests.factories import TEST_PASSWORD
from tests.ledger_fixtures import XeroBooks


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    def take(name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def sign_in_as(page, live_server):
    """Sign in through the sign-in page; returns once the documents list is usable."""
    from playwright.sync_api import expect

    def sign_in(username: str) -> None:
        page.goto(f"{live_server.url}/sign-in/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(TEST_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(re.compile(r"/documents/$"))
        page.wait_for_load_state("load")
        page.wait_for_function("() => window.htmx !== undefined")

    return sign_in


@pytest.fixture
def xero_emulator_server(settings):
    """The Xero emulator as a real HTTP server on a free loopback port: yields (url, emulator).

    Its address is the configured emulator address for the test (the live server thread reads
    the same settings object); the server is stopped when the test ends.
    """
    settings.LEDGER_EMULATOR_ALLOWED = True
    with running_emulator(port=0) as (url, emulator):
        settings.XERO_EMULATOR_URL = url
        yield url, emulator


@pytest.fixture
def qbo_emulator_server(settings):
    """The QuickBooks Online emulator as a real HTTP server on a free loopback port: yields
    (url, emulator), its address the configured QBO emulator address for the test."""
    settings.LEDGER_EMULATOR_ALLOWED = True
    with running_qbo_emulator(port=0) as (url, emulator):
        settings.QBO_EMULATOR_URL = url
        yield url, emulator


@pytest.fixture
def myob_emulator_server(settings):
    """The MYOB emulator as a real HTTP server on a free loopback port: yields (url, emulator),
    its address the configured MYOB emulator address for the test."""
    settings.LEDGER_EMULATOR_ALLOWED = True
    with running_myob_emulator(port=0) as (url, emulator):
        settings.MYOB_EMULATOR_URL = url
        yield url, emulator


@pytest.fixture
def enqueued(monkeypatch):
    """Tasks the pages send, kept here instead of going to a broker."""
    from synclog import tasks

    sent = []
    monkeypatch.setattr(
        tasks.sync_record,
        "apply_async",
        lambda args, countdown=0, queue=None: sent.append((args[0], countdown, queue)),
    )
    return sent


# Helpers for the tests (plain functions: `from tests.browser.conftest import …`).


def connect_xero(org, ledger) -> Connection:
    return XeroBooks(ledger).connect_org(org)


def push_pending() -> None:
    """Play the worker: push every Pending record once (as if its retry time had come)."""
    ids = list(SyncRecord.objects.filter(status=RecordStatus.PENDING).values_list("pk", flat=True))
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
