"""The avatar in Chromium at 1280 px and on a 390 px phone: uploaded on the profile page
(a text file named .png refused with its reason; a phone's photo of several MB made
smaller in the browser first), then shown beside the host's name on the booking page;
both pages sound (no horizontal scroll, no CSP or console error, axe clean; issue 12)."""

import io

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from afspraak.accounts.avatars import MAX_AVATAR_BYTES, inspect_avatar, set_avatar
from afspraak.accounts.models import User, UserAvatar
from afspraak.audit.context import AuditContext
from afspraak.images import CheckedImage
from afspraak.testing.browser import DESKTOP, PHONE, assert_page_is_sound, watch_console
from afspraak.testing.factories import DEFAULT_PASSWORD, MeetingTypeFactory, UserFactory

pytestmark = pytest.mark.browser

EMAIL = "hanna.host@example.test"


def portrait() -> bytes:
    """Return a square JPEG that reads as a face-sized picture: a disc on a coloured ground."""
    picture = Image.new("RGB", (192, 192), (36, 86, 214))
    ImageDraw.Draw(picture).ellipse((48, 32, 144, 128), fill=(244, 200, 160))
    ImageDraw.Draw(picture).ellipse((16, 120, 176, 260), fill=(244, 200, 160))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG")
    return buffer.getvalue()


def open_page(browser_page, browser_console, server, viewport):
    context = browser_page.context.browser.new_context(
        base_url=server.url, viewport=viewport, is_mobile=viewport == PHONE
    )
    page = context.new_page()
    watch_console(page, browser_console)
    return context, page


def loaded(page, selector: str) -> bool:
    """Tell whether the image was fetched and decoded (the CSP let it in, the type fits).

    `decode()` waits for an image still on its way, so a slow fetch is not read as a
    refused one; it rejects when the image cannot be fetched or decoded."""
    return page.locator(selector).evaluate(
        "image => image.decode().then(() => image.naturalWidth > 0, () => false)"
    )


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_host_uploads_a_picture_on_the_profile_page(
    browser_page, browser_console, https_live_server, viewport
):
    UserFactory.create(email=EMAIL, full_name="Hanna de Vries")
    context, page = open_page(browser_page, browser_console, https_live_server, viewport)
    device = "phone" if viewport == PHONE else "desktop"
    try:
        page.goto("/accounts/login/")
        page.get_by_label("Email").fill(EMAIL)
        page.get_by_label("Password").fill(DEFAULT_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("link", name="Profile").click()
        expect(page.locator(".avatar-initials")).to_have_text("HV")

        page.get_by_label("Choose a picture").set_input_files(
            {"name": "me.png", "mimeType": "image/png", "buffer": b"not a picture at all"}
        )
        page.get_by_role("button", name="Upload picture").click()
        expect(page.get_by_text("The picture must be a PNG, JPEG or WebP image.")).to_be_visible()
        assert_page_is_sound(page, f"profile-avatar-refused-{device}")
        # The refusal's 400 is the one console line the browser writes; nothing else.
        assert browser_console == [
            "error: Failed to load resource: the server responded with a status of 400 "
            "(Bad Request)"
        ]
        browser_console.clear()

        page.get_by_label("Choose a picture").set_input_files(
            {"name": "me.jpg", "mimeType": "image/jpeg", "buffer": portrait()}
        )
        page.get_by_role("button", name="Upload picture").click()
        expect(page.get_by_text("Your picture is saved.")).to_be_visible()
        expect(page.get_by_role("button", name="Replace picture")).to_be_visible()
        assert loaded(page, "img.avatar-large")
        assert User.objects.get(email=EMAIL).avatar_hash
        assert_page_is_sound(page, f"profile-avatar-{device}")

        page.goto("/")
        assert loaded(page, "img.avatar-medium")
    finally:
        context.close()
    assert not browser_console, browser_console


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_booking_page_shows_the_hosts_picture(
    browser_page, browser_console, https_live_server, viewport
):
    meeting_type = MeetingTypeFactory.create(name="Intake call")
    set_avatar(meeting_type.host, portrait(), context=AuditContext.system(meeting_type.host))
    context, page = open_page(browser_page, browser_console, https_live_server, viewport)
    try:
        page.goto(f"/{meeting_type.organization.slug}/{meeting_type.slug}/")
        expect(page.locator(".host")).to_have_text(
            f"With {meeting_type.host.full_name} · {meeting_type.organization.name}"
        )
        assert loaded(page, ".meeting-summary img.avatar")
        assert_page_is_sound(page, f"booking-avatar-{'phone' if viewport == PHONE else 'desktop'}")
    finally:
        context.close()
    assert not browser_console, browser_console


def phone_photo() -> bytes:
    """Return a 4,000 by 3,000 JPEG of grain, several MB, that the camera held upright.

    The Exif orientation (6: turn 90° clockwise) says the picture shows 3,000 by 4,000.
    """
    picture = Image.effect_noise((4000, 3000), 80).convert("RGB")
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=95, exif=exif)
    return buffer.getvalue()


def test_a_phone_photo_is_made_smaller_in_the_browser_before_it_is_sent(
    browser_page, browser_console, https_live_server
):
    UserFactory.create(email=EMAIL, full_name="Hanna de Vries")
    photo = phone_photo()
    assert len(photo) > 4 * MAX_AVATAR_BYTES
    context, page = open_page(browser_page, browser_console, https_live_server, PHONE)
    try:
        page.goto("/accounts/login/")
        page.get_by_label("Email").fill(EMAIL)
        page.get_by_label("Password").fill(DEFAULT_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto("/accounts/profile/")
        page.get_by_label("Choose a picture").set_input_files(
            {"name": "IMG_2048.jpg", "mimeType": "image/jpeg", "buffer": photo}
        )
        expect(page.locator("#picture-shrunk")).to_contain_text("Made smaller to 384 by 512 pixels")
        page.get_by_role("button", name="Upload picture").click()
        expect(page.get_by_text("Your picture is saved.")).to_be_visible()
        assert loaded(page, "img.avatar-large")
        assert_page_is_sound(page, "profile-avatar-shrunk-phone")
    finally:
        context.close()
    assert not browser_console, browser_console
    stored = bytes(UserAvatar.objects.get(user__email=EMAIL).data)
    # Upright (the camera's turn applied), within every limit, and no Exif left.
    assert inspect_avatar(stored) == CheckedImage("image/jpeg", 384, 512)
    assert len(stored) <= MAX_AVATAR_BYTES
    assert b"Exif" not in stored
