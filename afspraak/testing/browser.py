"""A real browser for tests: Debian's Chromium driven by Playwright (pytest plugin).

``browser_page`` launches headless Chromium from ``/usr/bin/chromium`` (never a
downloaded browser) against ``https_live_server``. Chromium trusts exactly that
server's key (``--ignore-certificate-errors-spki-list``), so the page is a secure
context with a valid certificate and ``Secure``/``__Host-`` cookies work, while any
other certificate problem still fails. ``browser_console`` collects the page's console
messages and uncaught errors (CSP violations show up there) for the whole life of its page;
``watch_console`` does the same for a page of another context, and
``assert_no_console_error`` fails on any error among them but the expected ones.

``second_factor_session_cookie`` gives a browser context the session of someone who
logged in with their second factor (staff pages ask for one).

``assert_page_is_sound`` checks a page the way issue 12 asks: it fits the viewport (no
horizontal scrolling), no table cell breaks a short word, axe-core (vendored,
never served) finds no serious or critical violation, and a screenshot lands in
``var/screenshots/`` for a reviewer.

Browser tests carry the ``browser`` marker; they run on the SQLite run only.
"""

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.conf import settings
from django.test import Client

from afspraak.testing.liveserver import HTTPSLiveServer
from afspraak.testing.logins import log_in_with_second_factor

if TYPE_CHECKING:
    from playwright.sync_api import Page

CHROMIUM = Path("/usr/bin/chromium")
AXE_SOURCE = Path(__file__).parent / "vendor" / "axe.min.js"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
BLOCKING_IMPACTS = frozenset({"serious", "critical"})
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
        watch_console(page, browser_console)
        try:
            yield page
        finally:
            context.close()
            browser.close()


def watch_console(page: "Page", console: list[str]) -> None:
    """Append what ``page`` logs, and its uncaught errors, to ``console`` from now on."""
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))


def console_errors(console: list[str], *, expected: Iterable[str] = ()) -> list[str]:
    """Return the error lines of ``console`` (CSP violations included), each expected one once.

    ``expected`` holds whole lines, e.g. the "Failed to load resource" of a page meant to
    answer 404; each excuses one occurrence, so a second such error still counts.
    """
    excused = list(expected)
    errors = []
    for line in console:
        is_error = line.startswith(("error: ", "pageerror: ")) or "Content Security Policy" in line
        if not is_error:
            continue
        if line in excused:
            excused.remove(line)
        else:
            errors.append(line)
    return errors


def assert_no_console_error(console: list[str], *, expected: Iterable[str] = ()) -> None:
    """Fail if the pages behind ``console`` logged an error other than the ``expected`` ones."""
    errors = console_errors(console, expected=expected)
    if errors:
        pytest.fail("console errors: " + "; ".join(errors))


def second_factor_session_cookie(user: Any, url: str) -> dict[str, Any]:
    """Return a session cookie for ``url`` of ``user`` logged in with their second factor.

    Staff pages want a session that used its second factor; a browser context takes it
    with ``add_cookies`` instead of typing a TOTP code.
    """
    client = Client()
    log_in_with_second_factor(client, user)
    return {
        "name": settings.SESSION_COOKIE_NAME,
        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "url": url,
        "secure": True,
    }


def accessibility_violations(page: "Page") -> list[str]:
    """Run axe-core in ``page``; return its serious and critical violations, one line each."""
    # evaluate() runs through the DevTools protocol, outside the page's CSP, so the
    # checker needs no inline script and the page's policy stays as strict as served.
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SOURCE.read_text(encoding="utf-8"))
    violations = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        f"{violation['impact']} {violation['id']}: {violation['help']} at "
        + ", ".join(str(node["target"]) for node in violation["nodes"][:3])
        for violation in violations
        if violation["impact"] in BLOCKING_IMPACTS
    ]


# Finds each word of a table cell whose letters lie on two lines: any word of a header or
# of a short cell (``td.short``), and in the other cells any word of up to SHORT_WORD
# characters (a status, a category, a time zone); a longer one (a 200-character name, a
# hash) or an e-mail address may break where a narrow column needs it to. A dash ends a word:
# a line may break after it (between "09:00" and "09:30" of a time range).
SHORT_WORD = 20
_SPLIT_WORDS_SCRIPT = """
(shortWord) => {
  const split = [];
  for (const cell of document.querySelectorAll("th, td")) {
    if (!cell.getClientRects().length) continue;
    const everyWord = cell.matches("th, td.short");
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const match of node.data.matchAll(/[^\\s\\u2010-\\u2014-]+/g)) {
        if (!everyWord && (match[0].length > shortWord || match[0].includes("@"))) continue;
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const lines = new Set(
          [...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top))
        );
        if (lines.size > 1) split.push(match[0]);
      }
    }
  }
  return split;
}
"""


def words_split_across_lines(page: "Page") -> list[str]:
    """Return the words of table cells broken mid-word (short words, or any in ``td.short``)."""
    return list(page.evaluate(_SPLIT_WORDS_SCRIPT, SHORT_WORD))


def _save_screenshot(page: "Page", path: Path) -> None:
    from playwright.sync_api import Error

    try:
        page.screenshot(path=str(path), full_page=True)
    except Error:
        # Chromium now and then answers "Unable to capture screenshot" on a loaded machine
        # (seen in a full run, never alone); the picture is for reviewers, so one more try.
        page.screenshot(path=str(path), full_page=True)


def assert_page_is_sound(page: "Page", name: str) -> None:
    """Assert ``page`` fits its viewport and is axe clean; save its screenshot as ``name``."""
    width = page.viewport_size["width"] if page.viewport_size else 0
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    _save_screenshot(page, SCREENSHOTS / f"{name}-{width}.png")
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    if scroll_width > width:
        pytest.fail(f"{name} is {scroll_width} px wide at {width} px")
    split = words_split_across_lines(page)
    if split:
        pytest.fail(f"{name} at {width} px breaks table words mid-word: {split}")
    violations = accessibility_violations(page)
    if violations:
        pytest.fail(f"{name} at {width} px: " + "; ".join(violations))
