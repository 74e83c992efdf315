"""An organization's branding: an accent colour and a logo on its public pages and e-mails.

The colour must keep white text on it readable (WCAG AA, 4.5:1), since the design
system writes white on the accent (buttons) and the accent on white (links), and the
two contrasts are the same number. The logo is an uploaded picture, checked and
served as ``afspraak.images`` does every picture.
"""

import hashlib
import re

from django.db import transaction

from afspraak.audit.trail import record
from afspraak.images import CheckedImage, ImageError, inspect_image, without_metadata
from afspraak.tenancy.access import Access
from afspraak.tenancy.errors import TenancyError
from afspraak.tenancy.models import Organization, OrganizationLogo
from afspraak.tenancy.roles import Permission

MAX_LOGO_BYTES = 256 * 1024
MAX_LOGO_SIDE = 2048
MIN_CONTRAST = 4.5
_COLOUR = re.compile(r"#[0-9a-f]{6}")


class BrandingError(TenancyError):
    """A colour or logo that cannot be used, with the reason for the person who chose it."""


def _luminance(colour: str) -> float:
    def channel(hex_pair: str) -> float:
        value = int(hex_pair, 16) / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_with_white(colour: str) -> float:
    """Return the WCAG contrast ratio of white against ``colour`` (``#rrggbb``)."""
    return 1.05 / (_luminance(colour) + 0.05)


def parse_accent(value: str) -> str:
    """Return ``value`` as a lower-case ``#rrggbb`` accent with AA contrast, or refuse it."""
    colour = value.strip().lower()
    if not _COLOUR.fullmatch(colour):
        raise BrandingError(
            "Write the accent colour as # and six hexadecimal digits, e.g. #2456d6."
        )
    ratio = contrast_with_white(colour)
    if ratio < MIN_CONTRAST:
        raise BrandingError(
            f"White text on {colour} has a contrast of {ratio:.1f}:1; it needs at least "
            f"{MIN_CONTRAST}:1 to be readable (WCAG AA). Choose a darker colour."
        )
    return colour


def inspect_logo(data: bytes) -> CheckedImage:
    """Return the type and size of an uploaded logo; refuse all but a sane PNG, JPEG or WebP."""
    try:
        return inspect_image(data, noun="logo", max_bytes=MAX_LOGO_BYTES, max_side=MAX_LOGO_SIDE)
    except ImageError as error:
        raise BrandingError(str(error)) from error


def brand_version(organization: Organization) -> str:
    """Return a short hash of the branding, naming its stylesheet and logo addresses."""
    seed = f"{organization.accent_colour}:{organization.logo_hash}".encode()
    return hashlib.sha256(seed).hexdigest()[:12]


def _shade(colour: str, factor: float) -> str:
    channels = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(value * factor):02x}" for value in channels)


def _tint(colour: str, share: float) -> str:
    channels = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#" + "".join(f"{round(255 - (255 - value) * share):02x}" for value in channels)


def brand_stylesheet(organization: Organization) -> str:
    """Return the CSS that sets the design system's accent to the organization's colour."""
    colour = organization.accent_colour
    if not colour:
        return ""
    # The darker shade is for hover and the soft tint a background under ink, as in
    # the design system's own tokens.
    return (
        f":root {{ --accent: {colour}; --accent-dark: {_shade(colour, 0.75)}; "
        f"--accent-soft: {_tint(colour, 0.08)}; }}\n"
    )


def brand_navigation_stylesheet(organization: Organization) -> str:
    """Return the CSS that marks the host's organization navigation with the accent."""
    colour = organization.accent_colour
    if not colour:
        return ""
    # The host's own pages keep Afspraak's look (the accent is for invitees); only the
    # navigation's rule and current-page underline, lines rather than text, take it.
    return (
        f".org-nav {{ border-bottom: 3px solid {colour}; }}\n"
        f'.org-nav a[aria-current="page"] {{ text-decoration-color: {colour}; '
        "text-decoration-thickness: 3px; text-underline-offset: .3em; }\n"
    )


def update_branding(
    access: Access, *, accent_colour: str, logo: bytes | None, remove_logo: bool = False
) -> Organization:
    """Set the organization's accent colour (empty: the default) and replace or drop its logo."""
    access.require(Permission.MANAGE_MEETING_TYPES)
    colour = parse_accent(accent_colour) if accent_colour.strip() else ""
    kept = inspect_logo(logo) if logo is not None else None
    if kept is not None and logo is not None:
        # Shown to anyone: what the file says of where and how it was made stays behind.
        try:
            logo = without_metadata(logo, kept)
        except ImageError as error:
            raise BrandingError(str(error)) from error
    with transaction.atomic(), access.scope():
        locked = Organization.objects.select_for_update().get(pk=access.organization.pk)
        changed = []
        if locked.accent_colour != colour:
            locked.accent_colour = colour
            changed.append("accent_colour")
        if kept is not None and logo is not None:
            OrganizationLogo.objects.update_or_create(
                organization=locked, defaults={"content_type": kept.content_type, "data": logo}
            )
            locked.logo_hash = hashlib.sha256(logo).hexdigest()
            changed.append("logo_hash")
        elif remove_logo and locked.logo_hash:
            OrganizationLogo.objects.filter(organization=locked).delete()
            locked.logo_hash = ""
            changed.append("logo_hash")
        if not changed:
            return locked
        locked.save(update_fields=changed)
        record(
            "tenancy.branding.updated",
            context=access.context,
            organization=locked,
            target=locked,
            data={"changed": changed},
        )
    return locked
