"""Which sites may show an organization's public booking pages in an <iframe>.

Framing is refused everywhere (``frame-ancestors 'none'``, ``X-Frame-Options: DENY``)
against clickjacking. An organization may name https origins that may frame its
public booking pages, and only those pages: the organization page and the meeting
type pages (the calendar). The booking form itself is never framed: its slot links
open it in the top window, where the CSRF cookie (SameSite=Lax, not sent to a
third-party frame) works and the invitee sees the address they give their data to.
"""

import re
from urllib.parse import urlsplit

from afspraak.audit.trail import record
from afspraak.tenancy.access import Access
from afspraak.tenancy.errors import TenancyError
from afspraak.tenancy.models import Organization
from afspraak.tenancy.roles import Permission

MAX_ORIGINS = 10
# A host name of letters, digits, hyphens and dots, an optional port: nothing that
# could end the header's directive (space, semicolon, comma, quote) gets through.
_HOST = re.compile(
    r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+"
)


def parse_embed_origins(text: str) -> list[str]:
    """Return the https origins written one a line in ``text``, or refuse the first bad one."""
    origins: list[str] = []
    for line in text.splitlines():
        written = line.strip()
        if not written:
            continue
        parts = urlsplit(written.lower())
        try:
            port = parts.port
        except ValueError:
            port = -1
        if (
            parts.scheme != "https"
            or not parts.hostname
            or not _HOST.fullmatch(parts.hostname)
            or parts.username is not None
            or port == -1
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
            or written.lower() not in (f"https://{parts.netloc}", f"https://{parts.netloc}/")
        ):
            raise TenancyError(
                f"{written[:100]} is not a site address: write one https origin a line, "
                "like https://www.example.com (no path, no wildcard)."
            )
        origin = f"https://{parts.netloc}"
        if origin not in origins:
            origins.append(origin)
    if len(origins) > MAX_ORIGINS:
        raise TenancyError(f"Name at most {MAX_ORIGINS} sites.")
    return origins


def embed_origins_of(organization: Organization) -> list[str]:
    """Return the origins allowed to frame the organization's booking pages (already checked)."""
    return organization.embed_origins.split()


def update_embed_origins(access: Access, text: str) -> Organization:
    """Set which https sites may frame the organization's public booking pages."""
    access.require(Permission.MANAGE_SECURITY)
    origins = parse_embed_origins(text)
    with access.scope():
        locked = Organization.objects.select_for_update().get(pk=access.organization.pk)
        stored = "\n".join(origins)
        if locked.embed_origins == stored:
            return locked
        locked.embed_origins = stored
        locked.save(update_fields=["embed_origins"])
        record(
            "tenancy.embedding.updated",
            context=access.context,
            organization=locked,
            target=locked,
            data={"origins": len(origins)},
        )
    return locked
