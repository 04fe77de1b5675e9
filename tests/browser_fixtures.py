"""The one headless Chromium of a test session (Playwright driving Debian's chromium package),
shared by tests/browser and the API docs test: Playwright's sync API allows one running instance
per thread, so two modules starting their own would depend on the order they run in. A test's
page and the sign-in through the sign-in page are theirs too."""

import os
import re
import shutil
from pathlib import Path

import pytest

from tests.factories import TEST_PASSWORD

# Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the test
# itself (not the server thread) are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


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
def sign_in_as(page, live_server):
    """Sign in through the sign-in page; returns once the documents list is usable (htmx has
    processed it: it loads deferred, then binds on load)."""
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
