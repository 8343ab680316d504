"""Headless Chromium (Debian's package, driven by Playwright) against pytest-django's live server.

Every test gets the demo clinic from `manage.py seed_demo` and opens one fresh browser context per person,
so no session, cookie or language choice leaks from one user to the next.
"""

import io
import os
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import sync_playwright

# Playwright's sync API keeps an asyncio loop running in this thread; Django would refuse ORM calls made here
# (seeding, assertions on the database) as "called from an async context". The calls really are synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
PASSWORD = "demo-pass-2026"
TIMEOUT_MS = 10_000
E2E_DIR = Path(__file__).parent

PHONE_USER_AGENT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 MicroMessenger/8.0.50(0x1800323a) NetType/WIFI Language/zh_CN"
)


def pytest_collection_modifyitems(config, items):
    """Everything under tests/e2e/ is an end-to-end test (`-m "not e2e"` leaves the browser out)."""
    for item in items:
        if E2E_DIR in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def playwright_driver():
    if not CHROMIUM.exists():
        message = f"Chromium not found at {CHROMIUM}; install Debian's chromium package"
        if os.environ.get("CI"):
            pytest.fail(f"{message} (the browser tests must run in CI).", pytrace=False)
        pytest.skip(message)
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_driver):
    browser = playwright_driver.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def demo(live_server):
    """The demo clinic, made by the project's own command (live_server brings transactional_db)."""
    # Each transactional test ends by emptying every table, the workflow a data migration made included;
    # seed_demo makes it again. (Serialized rollback would not help: once Playwright's event loop runs in this
    # thread, Django hands the test a new connection object, not the one holding the serialized data.)
    call_command("seed_demo", "--no-history", stdout=io.StringIO())  # the past is for the statistics, not tested here


@pytest.fixture
def new_page(browser, live_server):
    """Return a function opening a page in a fresh browser context (Chinese by default, as in the clinic)."""
    contexts = []

    def make(**options):
        options.setdefault("locale", "zh-CN")
        options.setdefault("timezone_id", "Asia/Shanghai")
        context = browser.new_context(base_url=live_server.url, **options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def log_in(page, username: str, password: str = PASSWORD):
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("form button[type=submit]")
    assert "/accounts/login/" not in page.url, f"{username} could not log in"
    return page


@pytest.fixture
def page_for(new_page, demo):
    """Return a function giving a page logged in as a demo user, each in their own browser context."""

    def make(username: str, **options):
        return log_in(new_page(**options), username)

    return make
