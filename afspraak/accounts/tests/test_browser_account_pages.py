"""The account pages (allauth's) in the product's look, in Chromium at 1280 and 390 px.

Each page a person reaches while logging in, signing up, resetting a password, confirming
an address or setting up two-factor is checked as issue 12 asks (no horizontal scroll,
axe clean, a screenshot in var/screenshots/), with the wording "Log in" / "Sign up",
labels above their fields and errors beside the field they are about.
"""

import re

import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from afspraak.accounts.tests.test_browser_signup import submit_totp_code
from afspraak.testing.browser import DESKTOP, PHONE, assert_page_is_sound, watch_console
from afspraak.testing.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.browser

EMAIL = "hanna.host@example.test"
NEW_PASSWORD = "copper kettles hum beneath winter orchards"
VIEWPORTS = pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])


@pytest.fixture
def open_page(browser_page, browser_console, https_live_server):
    """Return a function opening a page at a viewport, its console collected."""
    contexts = []

    def open_at(viewport: dict[str, int]) -> Page:
        context = browser_page.context.browser.new_context(
            base_url=https_live_server.url, viewport=viewport, is_mobile=viewport == PHONE
        )
        contexts.append(context)
        page = context.new_page()
        watch_console(page, browser_console)
        return page

    yield open_at
    for context in contexts:
        context.close()


def sound(page: Page, name: str) -> None:
    width = page.viewport_size["width"] if page.viewport_size else 0
    assert_page_is_sound(page, f"account-{name}-{'phone' if width < 600 else 'desktop'}")


def stacked(page: Page, label: str) -> None:
    """Assert the field labelled ``label`` sits under its label, not beside it."""
    field = page.get_by_label(label, exact=True)
    label_box = page.locator(f"label[for='{field.get_attribute('id')}']").bounding_box()
    field_box = field.bounding_box()
    assert label_box is not None
    assert field_box is not None
    assert field_box["y"] >= label_box["y"] + label_box["height"] - 1, label


def error_of(page: Page, label: str) -> str:
    """Return the error text the field labelled ``label`` is described by."""
    field = page.get_by_label(label, exact=True)
    assert field.get_attribute("aria-invalid") == "true", label
    described_by = field.get_attribute("aria-describedby") or ""
    errors = [
        page.locator(f"#{ident}").inner_text()
        for ident in described_by.split()
        if ident.endswith("-error")
    ]
    assert errors, f"{label} is not described by its error"
    return " ".join(errors)


def log_in(page: Page, email: str, password: str = DEFAULT_PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


@VIEWPORTS
def test_log_in_sign_up_and_password_reset_pages(open_page, browser_console, viewport):
    UserFactory.create(email=EMAIL, full_name="Hanna de Vries")
    page = open_page(viewport)

    page.goto("/accounts/login/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    expect(page.locator("main").get_by_role("link", name="Sign up")).to_be_visible()
    stacked(page, "Email")
    stacked(page, "Password")
    sound(page, "login")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".form-errors")).to_contain_text("not correct")
    sound(page, "login-error")

    page.locator("main").get_by_role("link", name="Sign up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign up")
    for label in ("Your name", "Email", "Password", "Password (again)"):
        stacked(page, label)
    sound(page, "signup")
    page.get_by_label("Your name").fill("Nova Newcomer")
    page.get_by_label("Email").fill("not an address")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Password (again)").fill("other")
    # The browser's own checks would stop the form before the server sees it.
    page.locator("main form").evaluate("form => form.noValidate = true")
    page.get_by_role("button", name="Sign up").click()
    assert "valid email" in error_of(page, "Email").lower()
    assert error_of(page, "Password")
    sound(page, "signup-errors")

    page.goto("/accounts/login/")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reset your password")
    stacked(page, "Email")
    sound(page, "password-reset")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_role("button", name="Send the reset link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")
    sound(page, "password-reset-sent")

    (message,) = mail.outbox
    link = re.search(r"https://[^/\s]+(/accounts/password/reset/key/\S+/)", str(message.body))
    assert link, message.body
    page.goto(link.group(1))
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    stacked(page, "New Password")
    sound(page, "password-reset-key")
    page.get_by_label("New Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New Password (again)").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your password is changed")
    sound(page, "password-reset-done")
    page.locator("main").get_by_role("link", name="Log in").click()
    log_in(page, EMAIL, NEW_PASSWORD)
    expect(page.get_by_role("heading", name="Welcome, Hanna de Vries")).to_be_visible()
    assert not browser_console, browser_console


@VIEWPORTS
def test_sign_up_and_confirm_the_address(open_page, browser_console, viewport):
    # An address per run: allauth limits confirmation mails per address in the shared cache.
    newcomer = f"nova.{viewport['width']}@example.test"
    page = open_page(viewport)
    page.goto("/accounts/signup/")
    page.get_by_label("Your name").fill("Nova Newcomer")
    page.get_by_label("Email").fill(newcomer)
    page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Password (again)").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your e-mail address")
    expect(page.locator("main")).to_contain_text("We have sent you an e-mail with a link")
    sound(page, "verification-sent")

    (message,) = mail.outbox
    link = re.search(r"https://[^/\s]+(/accounts/confirm-email/\S+/)", str(message.body))
    assert link, message.body
    page.goto(link.group(1))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your e-mail address")
    sound(page, "confirm-email")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text(f"You have confirmed {newcomer}")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
    assert not browser_console, browser_console


@VIEWPORTS
def test_two_factor_pages(open_page, browser_console, viewport):
    UserFactory.create(email=EMAIL, full_name="Hanna de Vries")
    page = open_page(viewport)
    log_in(page, EMAIL)
    expect(page.get_by_role("heading", name="Welcome, Hanna de Vries")).to_be_visible()

    page.get_by_role("link", name="Two-factor").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor authentication")
    expect(page.get_by_role("link", name="Two-factor")).to_have_attribute("aria-current", "page")
    sound(page, "mfa")
    page.locator("section").filter(
        has=page.get_by_role("heading", name="Authenticator app")
    ).get_by_role("link", name="Set up").click()
    # Setting up a second factor asks for the password again (MFA_REAUTHENTICATION_REQUIRED).
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm it is you")
    stacked(page, "Password")
    sound(page, "reauthenticate")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up an authenticator app")
    secret_box = page.locator(".totp-secret")
    secret = secret_box.inner_text().replace(" ", "").strip()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret), secret
    # The whole secret shows: it wraps inside its box instead of being cut off.
    assert secret_box.evaluate("box => box.scrollWidth <= box.clientWidth")
    stacked(page, "Authenticator code")
    sound(page, "totp-activate")
    page.get_by_label("Authenticator code").fill("000000")
    page.get_by_role("button", name="Activate").click()
    assert error_of(page, "Authenticator code")
    sound(page, "totp-activate-error")
    submit_totp_code(page, secret, field="Authenticator code", button="Activate")

    expect(page.get_by_role("heading", level=1)).to_have_text("Recovery codes")
    download = page.get_by_role("link", name="Download codes")
    generate = page.get_by_role("link", name="Generate new codes")
    download_box, generate_box = download.bounding_box(), generate.bounding_box()
    assert download_box is not None
    assert generate_box is not None
    # Two buttons apart, not one run-together line of text.
    apart = (
        generate_box["x"] >= download_box["x"] + download_box["width"] + 4
        or generate_box["y"] >= download_box["y"] + download_box["height"] + 4
    )
    assert apart, (download_box, generate_box)
    sound(page, "recovery-codes")
    generate.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Generate new recovery codes")
    sound(page, "recovery-codes-generate")

    page.get_by_role("button", name="Log out").click()
    log_in(page, EMAIL)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor authentication")
    stacked(page, "Code")
    sound(page, "mfa-authenticate")
    assert not browser_console, browser_console
