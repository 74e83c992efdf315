"""The API tokens pages in Chromium at 1280 px and 390 px: made after the password, the secret
shown once, listed for the owner with everyone's tokens, revoked after a confirmation."""

import pytest
from playwright.sync_api import expect

from afspraak.tenancy.api_tokens import create_api_token
from afspraak.tenancy.models import ApiTokenScope
from afspraak.tenancy.roles import Role
from afspraak.testing.access import member_access
from afspraak.testing.browser import DESKTOP, PHONE, assert_page_is_sound, watch_console
from afspraak.testing.factories import (
    DEFAULT_PASSWORD,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
)

pytestmark = pytest.mark.browser

OWNER = "owner@alpha.test"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_api_token_pages_fit_the_screen_and_are_accessible(
    browser_page, browser_console, https_live_server, viewport
):
    alpha = OrganizationFactory.create(name="Alpha Clinic", slug="alpha")
    owner = UserFactory.create(email=OWNER)
    MembershipFactory.create(organization=alpha, role=Role.OWNER, user=owner)
    colleague = MembershipFactory.create(
        organization=alpha, role=Role.MEMBER, user__full_name="Maria Wolfeschlegelsteinhausen"
    )
    theirs, _ = create_api_token(
        member_access(colleague, reauthenticated=True),
        name="Calendar sync for the front desk tablet",
        scope=ApiTokenScope.ROLE,
    )
    context = browser_page.context.browser.new_context(
        base_url=https_live_server.url,
        viewport=viewport,
        is_mobile=viewport == PHONE,
        has_touch=viewport == PHONE,
    )
    suffix = "desktop" if viewport == DESKTOP else "phone"
    try:
        page = context.new_page()
        watch_console(page, browser_console)
        page.goto("/accounts/login/")
        page.get_by_label("Email").fill(OWNER)
        page.get_by_label("Password").fill(DEFAULT_PASSWORD)
        page.get_by_role("button", name="Log in").click()

        page.goto("/o/alpha/")
        page.get_by_role("link", name="API tokens").click()
        page.get_by_role("link", name="Create a token").click()
        # The password is confirmed before the form, never after the secret is made.
        page.get_by_label("Password").fill(DEFAULT_PASSWORD)
        page.get_by_role("button", name="Confirm").click()
        page.get_by_label("Name").fill("Reporting export")
        page.get_by_label("Everything your role allows").check()
        assert_page_is_sound(page, f"api-token-create-{suffix}")
        page.get_by_role("button", name="Create token").click()

        secret = page.locator("#token-secret")
        assert secret.input_value().startswith("afs_")
        assert_page_is_sound(page, f"api-token-created-{suffix}")

        page.get_by_role("link", name="Done").click()
        rows = page.locator("table.api-tokens tbody tr")
        expect(rows).to_have_count(2)
        expect(page.locator("main")).to_contain_text("Maria Wolfeschlegelsteinhausen")
        assert_page_is_sound(page, f"api-tokens-{suffix}")

        page.locator(f"#{theirs.public_id}").get_by_role("link", name="Revoke").click()
        expect(page.locator("section.confirm button.danger")).to_have_count(1)
        assert_page_is_sound(page, f"confirm-revoke-api-token-{suffix}")
        page.locator("section.confirm button.danger").click()
        expect(page.locator(f"#{theirs.public_id}")).to_contain_text("revoked")
    finally:
        context.close()

    # Chromium's verbose DOM hint about allauth's password page is advice, not an error.
    problems = [line for line in browser_console if not line.startswith("verbose:")]
    assert not problems, problems
