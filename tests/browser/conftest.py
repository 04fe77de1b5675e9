"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server."""

import os
import re
import shutil
from pathlib import Path

import pytest

from integrations.emulators.xero import running_emulator
from tests.factories import TEST_PASSWORD

# Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the test
# itself (not the server thread) are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: CI must install Debian's chromium package.")
        pytest.skip("Chromium is not installed (apt-get install chromium, or set CHROMIUM_PATH).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=path,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


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

    Emulator addresses are allowed for the test (the live server thread reads the same settings
    object); the server is stopped when the test ends.
    """
    settings.LEDGER_EMULATOR_ALLOWED = True
    with running_emulator(port=0) as (url, emulator):
        yield url, emulator
