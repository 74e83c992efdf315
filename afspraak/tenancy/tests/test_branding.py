"""An organization's accent colour and logo: validated, served safely, shown to invitees."""

import hashlib
import io
from datetime import UTC, datetime

import pytest
from django.urls import reverse
from PIL import Image

from afspraak.bookings.notifications import build_message
from afspraak.tenancy.access import AccessDeniedError
from afspraak.tenancy.branding import (
    MAX_LOGO_BYTES,
    BrandingError,
    brand_version,
    contrast_with_white,
    inspect_logo,
    parse_accent,
    update_branding,
)
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.models import OrganizationLogo
from afspraak.testing.access import member_access
from afspraak.testing.audit import assert_audited
from afspraak.testing.factories import MeetingTypeFactory, book
from afspraak.testing.images import photo_with_metadata

pytestmark = pytest.mark.django_db

# Wednesday 2 December 2026, 11:00 in Amsterdam: a day after the test clock's start.
WEDNESDAY_1100_AMSTERDAM = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def image(kind: str, size: tuple[int, int] = (120, 40), **options) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (20, 80, 160)).save(buffer, format=kind, **options)
    return buffer.getvalue()


def animated_webp() -> bytes:
    buffer = io.BytesIO()
    first, second = (Image.new("RGB", (30, 20), colour) for colour in ((1, 2, 3), (200, 2, 3)))
    first.save(buffer, format="WEBP", save_all=True, append_images=[second], duration=100)
    return buffer.getvalue()


# A minimal big-endian EXIF block: Pillow then writes WebP's extended (VP8X) header.
EXIF = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x00"


@pytest.mark.parametrize(
    ("given", "kept"), [("#2456D6", "#2456d6"), (" #767676 ", "#767676"), ("#000000", "#000000")]
)
def test_an_accent_with_aa_contrast_is_kept_in_lower_case(given, kept):
    assert parse_accent(given) == kept


@pytest.mark.parametrize("given", ["2456d6", "#fff", "#2456d6ff", "blue", "#12345g", "#"])
def test_an_accent_that_is_not_rrggbb_is_refused(given):
    with pytest.raises(BrandingError, match="six hexadecimal digits"):
        parse_accent(given)


@pytest.mark.parametrize("given", ["#ffcc00", "#ffffff", "#777777", "#3fa9f5"])
def test_an_accent_white_text_cannot_be_read_on_is_refused_with_its_contrast(given):
    with pytest.raises(BrandingError, match=r"contrast of \d\.\d:1; it needs at least 4.5:1"):
        parse_accent(given)


def test_the_contrast_is_the_wcag_ratio():
    assert contrast_with_white("#000000") == pytest.approx(21.0)
    assert contrast_with_white("#ffffff") == pytest.approx(1.0)
    # The threshold sits between these two greys.
    assert contrast_with_white("#767676") >= 4.5 > contrast_with_white("#777777")


@pytest.mark.parametrize(
    ("kind", "options", "content_type"),
    [
        ("PNG", {}, "image/png"),
        ("JPEG", {}, "image/jpeg"),
        ("WEBP", {}, "image/webp"),
        ("WEBP", {"lossless": True}, "image/webp"),
        ("WEBP", {"exif": EXIF}, "image/webp"),
    ],
    ids=["png", "jpeg", "webp-lossy", "webp-lossless", "webp-extended"],
)
def test_a_png_jpeg_or_webp_logo_is_read_from_its_header(kind, options, content_type):
    logo = inspect_logo(image(kind, (300, 90), **options))
    assert (logo.content_type, logo.width, logo.height) == (content_type, 300, 90)


@pytest.mark.parametrize("options", [{}, {"lossless": True}, {"exif": EXIF}])
def test_a_webp_logo_is_sized_like_the_image_it_holds(options):
    logo = inspect_logo(image("WEBP", (2048, 7), **options))
    assert (logo.width, logo.height) == (2048, 7)
    with pytest.raises(BrandingError, match="between 1 and 2048 pixels"):
        inspect_logo(image("WEBP", (2049, 7), **options))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (image("GIF"), "must be a PNG, JPEG or WebP"),
        (b"<svg onload=alert(1)>", "must be a PNG, JPEG or WebP"),
        (b"<html><script>alert(1)</script>", "must be a PNG, JPEG or WebP"),
        (b"RIFF\x04\x00\x00\x00WAVE", "must be a PNG, JPEG or WebP"),
        (animated_webp(), "a still image, not an animation"),
        (image("WEBP")[:-2], "WebP file is damaged"),
        (image("WEBP")[:12] + b"VP8Z" + image("WEBP")[16:], "WebP file is damaged"),
        (image("PNG")[:20], "PNG file is damaged"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "JPEG file is damaged"),
        (image("PNG", (3000, 10)), "between 1 and 2048 pixels"),
        (image("PNG")[:-1] + b"\x00" * (MAX_LOGO_BYTES + 1), "larger than 256 KB"),
    ],
)
def test_anything_else_is_refused_as_a_logo(data, message):
    with pytest.raises(BrandingError, match=message):
        inspect_logo(data)


def test_a_png_whose_chunks_are_cut_short_is_refused_and_nothing_changes(tenants):
    header_only = image("PNG")[:33] + b"\x00" * 9
    with pytest.raises(BrandingError, match="PNG file is damaged"):
        update_branding(member_access(tenants.owner), accent_colour="", logo=header_only)
    tenants.a.refresh_from_db()
    assert tenants.a.logo_hash == ""


def test_an_admin_sets_the_branding_on_the_settings_page(client, tenants):
    client.force_login(tenants.admin.user)
    url = reverse("tenancy:branding", args=[tenants.a.slug])
    logo = io.BytesIO(image("PNG"))
    logo.name = "logo.png"
    response = client.post(url, {"accent_colour": "#8A1C7C", "logo": logo})
    assert response.status_code == 302
    tenants.a.refresh_from_db()
    assert tenants.a.accent_colour == "#8a1c7c"
    assert tenants.a.logo_hash
    assert_audited("tenancy.branding.updated", organization_id=tenants.a)
    page = client.get(url).content.decode()
    assert reverse("tenancy:brand_logo", args=[tenants.a.slug, brand_version(tenants.a)]) in page


def test_a_bad_colour_or_logo_is_refused_on_the_page_with_its_reason(client, tenants):
    client.force_login(tenants.owner.user)
    url = reverse("tenancy:branding", args=[tenants.a.slug])
    refused = client.post(url, {"accent_colour": "#ffff00"})
    assert refused.status_code == 400
    assert "it needs at least 4.5:1" in refused.content.decode()
    fake = io.BytesIO(b"GIF89a not really")
    fake.name = "logo.png"
    refused = client.post(url, {"accent_colour": "", "logo": fake})
    assert refused.status_code == 400
    assert "must be a PNG, JPEG or WebP" in refused.content.decode()
    tenants.a.refresh_from_db()
    assert (tenants.a.accent_colour, tenants.a.logo_hash) == ("", "")


def test_the_stylesheet_sets_the_accent_and_is_cached_by_its_version(client, tenants):
    update_branding(member_access(tenants.owner), accent_colour="#8a1c7c", logo=None)
    tenants.a.refresh_from_db()
    version = brand_version(tenants.a)
    current = client.get(reverse("tenancy:brand_stylesheet", args=[tenants.a.slug, version]))
    assert current["Content-Type"].startswith("text/css")
    assert "--accent: #8a1c7c;" in current.content.decode()
    assert "immutable" in current["Cache-Control"]
    # An old version (a page cached before the change) gets today's colour, briefly cached.
    old = client.get(reverse("tenancy:brand_stylesheet", args=[tenants.a.slug, "0" * 12]))
    assert "--accent: #8a1c7c;" in old.content.decode()
    assert "immutable" not in old["Cache-Control"]
    missing = client.get(reverse("tenancy:brand_stylesheet", args=["no-such-org", version]))
    assert missing.status_code == 404


@pytest.mark.parametrize(("kind", "content_type"), [("PNG", "image/png"), ("WEBP", "image/webp")])
def test_the_logo_is_served_as_an_image_that_cannot_run_anything(
    client, tenants, kind, content_type
):
    png = image(kind)
    update_branding(member_access(tenants.owner), accent_colour="", logo=png)
    tenants.a.refresh_from_db()
    served = client.get(
        reverse("tenancy:brand_logo", args=[tenants.a.slug, brand_version(tenants.a)])
    )
    assert served.status_code == 200
    assert served.content == png
    assert served["Content-Type"] == content_type
    assert served["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in served["Content-Security-Policy"]
    assert "sandbox" in served["Content-Security-Policy"]
    # Another organization without a logo has none to serve.
    other = client.get(reverse("tenancy:brand_logo", args=[tenants.b.slug, "0" * 12]))
    assert other.status_code == 404


@pytest.mark.parametrize("kind", ["JPEG", "PNG", "WEBP"])
def test_a_logo_is_kept_without_what_the_file_says_of_where_it_was_made(tenants, kind):
    uploaded = photo_with_metadata(kind)
    assert b"PhoneMaker" in uploaded
    update_branding(member_access(tenants.owner), accent_colour="", logo=uploaded)

    with organization_context(tenants.a):
        stored = bytes(OrganizationLogo.objects.get(organization=tenants.a).data)
    assert b"PhoneMaker" not in stored
    assert b"Keizersgracht" not in stored
    tenants.a.refresh_from_db()
    assert tenants.a.logo_hash == hashlib.sha256(stored).hexdigest()


def test_removing_the_logo_removes_it(client, tenants):
    access = member_access(tenants.owner)
    update_branding(access, accent_colour="", logo=image("PNG"))
    update_branding(access, accent_colour="", logo=None, remove_logo=True)
    tenants.a.refresh_from_db()
    assert tenants.a.logo_hash == ""
    assert (
        client.get(reverse("tenancy:brand_logo", args=[tenants.a.slug, "0" * 12])).status_code
        == 404
    )


def test_a_member_may_not_change_the_branding(tenants):
    with pytest.raises(AccessDeniedError):
        update_branding(member_access(tenants.member), accent_colour="#8a1c7c", logo=None)


def test_public_pages_link_the_stylesheet_and_show_the_logo(client, tenants, clock):
    meeting_type = MeetingTypeFactory.create(schedule__organization=tenants.a)
    page = reverse("bookings:meeting_type", args=[tenants.a.slug, meeting_type.slug])
    before = client.get(page).content.decode()
    assert "o-brand/" not in before
    update_branding(member_access(tenants.owner), accent_colour="#8a1c7c", logo=image("PNG"))
    tenants.a.refresh_from_db()
    version = brand_version(tenants.a)
    stylesheet = reverse("tenancy:brand_stylesheet", args=[tenants.a.slug, version])
    logo = reverse("tenancy:brand_logo", args=[tenants.a.slug, version])
    # The booking page is cached: the change of branding reaches it at once all the same.
    for url in (page, page, reverse("bookings:organization", args=[tenants.a.slug])):
        html = client.get(url).content.decode()
        assert f'<link rel="stylesheet" href="{stylesheet}">' in html
        assert f'src="{logo}"' in html


def test_the_booking_e_mail_carries_the_colour_and_the_logo(tenants, clock, settings):
    meeting_type = MeetingTypeFactory.create(schedule__organization=tenants.a)
    plain = build_message(book(meeting_type, WEDNESDAY_1100_AMSTERDAM), "confirmed", "invitee")
    assert "#8a1c7c" not in str(plain.alternatives[0][0])
    update_branding(member_access(tenants.owner), accent_colour="#8a1c7c", logo=image("PNG"))
    tenants.a.refresh_from_db()
    booking = book(meeting_type, WEDNESDAY_1100_AMSTERDAM.replace(hour=11))
    html = str(build_message(booking, "confirmed", "invitee").alternatives[0][0])
    assert "background:#8a1c7c;color:#ffffff;" in html
    logo = reverse("tenancy:brand_logo", args=[tenants.a.slug, brand_version(tenants.a)])
    assert f'<img src="{settings.SITE_URL}{logo}"' in html


def test_the_audit_log_says_the_branding_changed(client, tenants):
    update_branding(member_access(tenants.owner), accent_colour="#8a1c7c", logo=None)
    client.force_login(tenants.owner.user)
    log = client.get(reverse("tenancy:audit_log", args=[tenants.a.slug]), {"category": "settings"})
    assert "changed the branding (accent colour or logo)" in log.content.decode()


def test_members_pages_mark_the_organization_navigation_with_the_accent_only(client, tenants):
    update_branding(member_access(tenants.owner), accent_colour="#8a1c7c", logo=None)
    tenants.a.refresh_from_db()
    version = brand_version(tenants.a)
    client.force_login(tenants.member.user)
    page = client.get(reverse("tenancy:home", args=[tenants.a.slug])).content.decode()
    navigation = reverse("tenancy:brand_navigation_stylesheet", args=[tenants.a.slug, version])
    assert f'<link rel="stylesheet" href="{navigation}">' in page
    # The host's own pages keep Afspraak's accent: the public stylesheet is not loaded.
    assert reverse("tenancy:brand_stylesheet", args=[tenants.a.slug, version]) not in page

    served = client.get(navigation)
    css = served.content.decode()
    assert served["Content-Type"].startswith("text/css")
    assert "immutable" in served["Cache-Control"]
    assert ".org-nav { border-bottom: 3px solid #8a1c7c; }" in css
    assert "text-decoration-color: #8a1c7c" in css
    assert ":root" not in css
    assert "--accent" not in css


def test_an_organization_without_an_accent_links_no_navigation_stylesheet(client, tenants):
    client.force_login(tenants.member.user)
    page = client.get(reverse("tenancy:home", args=[tenants.a.slug])).content.decode()
    assert "/nav.css" not in page
    served = client.get(
        reverse("tenancy:brand_navigation_stylesheet", args=[tenants.a.slug, "0" * 12])
    )
    assert served.status_code == 200
    assert served.content == b""
    assert "immutable" not in served["Cache-Control"]
