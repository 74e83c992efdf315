"""A real browser for tests: Debian's Chromium driven by Playwright (pytest plugin).

``browser_page`` launches headless Chromium from ``/usr/bin/chromium`` (never a
downloaded browser) against ``https_live_server``. Chromium trusts exactly that
server's key (``--ignore-certificate-errors-spki-list``), so the page is a secure
context with a valid certificate and ``Secure``/``__Host-`` cookies work, while any
other certificate problem still fails. ``browser_console`` collects the page's console
messages and uncaught errors (CSP violations show up there).

Browser tests carry the ``browser`` marker; they run on the SQLite run only.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from afspraak.testing.liveserver import HTTPSLiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ACTION_TIMEOUT_MS = 10_000


@pytest.fixture
def browser_console() -> list[str]:
    """Collect what the page logs to its console, as ``"<type>: <text>"`` lines."""
    return []


@pytest.fixture
def browser_page(
    https_live_server: HTTPSLiveServer,
    browser_console: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator["Page"]:
    """Open a fresh Chromium page whose relative URLs go to the HTTPS live server."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium package")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps its event loop marked as running on the test thread
    # while it drives the browser, so Django would refuse ORM calls in the test body
    # (and in teardown) as "async"; no coroutine of ours ever runs on that thread.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                *CHROMIUM_ARGS,
                f"--ignore-certificate-errors-spki-list={https_live_server.spki_sha256}",
            ],
        )
        context = browser.new_context(base_url=https_live_server.url)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        page = context.new_page()
        page.on(
            "console", lambda message: browser_console.append(f"{message.type}: {message.text}")
        )
        page.on("pageerror", lambda error: browser_console.append(f"pageerror: {error}"))
        try:
            yield page
        finally:
            context.close()
            browser.close()
