"""A new user's first visit, in Chromium over HTTPS: sign-up to a TOTP-protected session."""

import hashlib
import hmac
import re
import struct
import time
from base64 import b32decode

import pytest
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from django.core import mail
from playwright.sync_api import Page, expect

from afspraak.accounts.models import User
from afspraak.audit.models import AuditEvent
from afspraak.testing.browser import assert_no_console_error

pytestmark = pytest.mark.browser

EMAIL = "ada@example.test"
PASSWORD = "copper kettles hum beneath winter orchards"
TOTP_PERIOD = 30


def totp_code(secret: str, counter: int) -> str:
    """Compute an RFC 6238 code (HMAC-SHA1, 6 digits) as an authenticator app does."""
    digest = hmac.new(b32decode(secret, casefold=True), struct.pack(">Q", counter), hashlib.sha1)
    mac = digest.digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def current_counter() -> int:
    return int(time.time()) // TOTP_PERIOD


def submit_totp_code(
    page: Page, secret: str, *, field: str, button: str, after_counter: int = -1
) -> int:
    """Submit a code newer than ``after_counter``'s; return its counter. Accepted means a redirect.

    Each code works once, and with MFA_TOTP_TOLERANCE 0 only the current window's code
    works: a code newer than a spent one may mean waiting for the next window, as a
    person with an app would. A code typed in the last instant of its window can reach
    the server in the next one; then, as a person would, type the new code once more.
    """
    for _ in range(2):
        counter = max(current_counter(), after_counter + 1)
        wait_ms = (counter * TOTP_PERIOD - time.time()) * 1000
        if mfa_settings.TOTP_TOLERANCE == 0 and wait_ms > 0:
            page.wait_for_timeout(wait_ms + 50)
        page.get_by_label(field).fill(totp_code(secret, counter))
        with page.expect_response(lambda response: response.request.method == "POST") as posted:
            page.get_by_role("button", name=button).click()
        if posted.value.status == 302:
            return counter
        if current_counter() - counter <= mfa_settings.TOTP_TOLERANCE:
            break
    raise AssertionError(f"code refused: {page.locator('main').inner_text()}")


def visit(page: Page, path: str) -> None:
    """Open ``path`` and insist the server answered it."""
    response = page.goto(path)
    assert response is not None
    assert response.status == 200, f"{path} answered {response.status}"


def test_new_user_signs_up_verifies_enables_totp_and_signs_back_in_with_it(
    browser_page, browser_console, https_live_server, tmp_path
):
    page = browser_page

    visit(page, "/accounts/signup/")
    page.get_by_label("Your name").fill("Hanna de Vries")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label(re.compile(r"^Password:?$")).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Confirm your e-mail address")).to_be_visible()

    (message,) = mail.outbox
    assert message.to == [EMAIL]
    link = re.search(
        rf"{re.escape(https_live_server.url)}/accounts/confirm-email/\S+", str(message.body)
    )
    assert link, message.body
    visit(page, link.group(0))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text(f"You have confirmed {EMAIL}")).to_be_visible()

    visit(page, "/accounts/login/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Welcome, Hanna de Vries")).to_be_visible()
    session_cookie = next(
        c for c in page.context.cookies() if c["name"] == "__Host-afspraak_session"
    )
    assert session_cookie["secure"]

    page.get_by_role("link", name="Two-factor").click()
    authenticator_app = page.locator("section").filter(
        has=page.get_by_role("heading", name="Authenticator app")
    )
    authenticator_app.get_by_role("link", name="Set up").click()
    heading = page.get_by_role(
        "heading", name=re.compile("^(Confirm it is you|Set up an authenticator app)$")
    )
    expect(heading).to_be_visible()
    if heading.inner_text().strip() == "Confirm it is you":
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Set up an authenticator app")).to_be_visible()
    secret = page.locator(".totp-secret").inner_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret
    spent = submit_totp_code(page, secret, field="Authenticator code", button="Activate")

    expect(page.get_by_role("heading", name="Recovery codes")).to_be_visible()
    recovery_codes = page.get_by_label("Unused codes").input_value().split()
    assert recovery_codes
    assert all(code.isdigit() for code in recovery_codes)

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You have logged out.")).to_be_visible()

    visit(page, "/accounts/login/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/$"))
    submit_totp_code(page, secret, field="Code", button="Log in", after_counter=spent)
    expect(page.get_by_role("heading", name="Welcome, Hanna de Vries")).to_be_visible()

    page.get_by_role("link", name="Sessions").click()
    expect(page.get_by_role("heading", name="Sessions")).to_be_visible()
    sessions = page.locator("main tbody tr")
    expect(sessions).to_have_count(1)
    expect(sessions.first).to_contain_text("Current")
    expect(sessions.first).to_contain_text("HeadlessChrome")
    page.screenshot(path=tmp_path / "sessions.png", full_page=True)

    user = User.objects.get(email=EMAIL)
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    actions = set(AuditEvent.objects.filter(actor=user).values_list("action", flat=True))
    assert {
        "accounts.user.signed_up",
        "accounts.email.confirmed",
        "accounts.mfa.added",
        "accounts.logout",
        "accounts.mfa.used",
        "accounts.login.succeeded",
    } <= actions
    assert_no_console_error(browser_console)
