"""The public pages that list what can be booked: an organization's meeting types, and one
meeting type with its month of free days and the chosen day's times.

A meeting type's page is most of the public traffic, so its body is kept in each
process's memory, keyed by the host's slot version (``page_cache_key``); a visitor
without an account or a message is answered the whole page, kept gzipped too.
"""

import hashlib
from urllib.parse import urlencode

from django.contrib.messages import get_messages
from django.core.cache import caches
from django.db import connection
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.text import compress_string

from afspraak.accounts.models import User
from afspraak.bookings.public_views import (
    bookable_meeting_type_or_404,
    framable_by_embedders,
    meeting_type_summary,
    slot_picker,
    twelve_hour_clock,
    visitor_access,
)
from afspraak.scheduling.models import MeetingType, SlotsVersion, Visibility
from afspraak.tenancy.models import Membership, Organization

# The pages' bodies are kept in each process's memory, keyed by the host's slot version read
# from the database on every request: as fresh as the database, without a cache query.
PAGE_CACHE = caches["local"]
PAGE_CACHE_SECONDS = 3600
PICKER_PARAMETERS = frozenset({"tz", "month", "date"})


def organization_page(request: HttpRequest, org_slug: str) -> HttpResponse:
    """List the organization's public meeting types."""
    access = visitor_access(request, org_slug)
    with access.scope() as organization:
        meeting_types = list(
            MeetingType.objects.filter(
                visibility=Visibility.PUBLIC,
                host__is_active=True,
                host__memberships__organization=organization,
            )
            .select_related("host")
            .order_by("name", "pk")
        )
        entries = [
            {"meeting_type": meeting_type, "host_name": meeting_type.host.full_name}
            for meeting_type in meeting_types
        ]
        return framable_by_embedders(
            render(
                request,
                "bookings/public/organization.html",
                {"organization": organization, "entries": entries},
            ),
            organization,
        )


def page_cache_key(
    found: tuple[int, int, int], organization: Organization, query: QueryDict, *, twelve_hour: bool
) -> str | None:
    """Return the key of a booking page's body as ``query`` asks for it, or None.

    It names the host's slot version (raised by any change to their bookings,
    schedules, meeting types or name), so a page shown before such a change is not
    shown after it; only the picker's own parameters count (another query gets no key:
    it is not worth keeping).
    """
    if set(query) - PICKER_PARAMETERS or any(len(query.getlist(name)) > 1 for name in query):
        return None
    wanted = "&".join(f"{name}={query[name]}" for name in sorted(query))
    if len(wanted) > 120:
        return None
    meeting_type_id, host_id, version = found
    clock = "12" if twelve_hour else "24"
    # The organization's name and branding are on the page but not in the version.
    seed = f"{organization.name}:{organization.accent_colour}:{organization.logo_hash}"
    name = hashlib.sha256(seed.encode()).hexdigest()[:16]
    return f"page:{meeting_type_id}:{host_id}:{version}:{name}:{clock}:{wanted}"


def bookable_page_version(
    organization: Organization, type_slug: str
) -> tuple[int, int, int] | None:
    """Return the organization's bookable type's (id, host id, slot version), or None.

    Every condition of ``bookable_meeting_type_or_404`` and the host's version in one
    statement, for the booking page's cache. Plain SQL because building this query
    through the ORM cost more than the rest of a cached page; it names the
    organization itself (the tenant scope does not reach a cursor) and row-level
    security still applies on PostgreSQL.
    """
    sql = f"""
        SELECT mt.id, mt.host_id, COALESCE(v.number, 0)
        FROM {MeetingType._meta.db_table} mt
        JOIN {User._meta.db_table} u ON u.id = mt.host_id
        LEFT JOIN {SlotsVersion._meta.db_table} v ON v.host_id = mt.host_id
        WHERE mt.organization_id = %s AND mt.slug = %s AND mt.visibility <> %s
          AND u.is_active
          AND EXISTS (SELECT 1 FROM {Membership._meta.db_table} m
                      WHERE m.organization_id = mt.organization_id AND m.user_id = mt.host_id)
    """  # noqa: S608 - only table names from the models are formatted in; values are bound
    with connection.cursor() as cursor:
        cursor.execute(sql, [organization.pk, type_slug, Visibility.DISABLED.value])
        row = cursor.fetchone()
    return (row[0], row[1], row[2]) if row is not None else None


def _plain_page(request: HttpRequest, content: bytes, gzipped: bytes) -> HttpResponse:
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        response = HttpResponse(gzipped)
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(content)
    patch_vary_headers(response, ["Accept-Encoding"])
    return response


def meeting_type_page(request: HttpRequest, org_slug: str, type_slug: str) -> HttpResponse:
    """Show a meeting type with its month of free days and the chosen day's slots."""
    access = visitor_access(request, org_slug)
    with access.scope() as organization:
        twelve_hour = twelve_hour_clock(request)
        now = timezone.now()
        # The version is read before anything it keys: see afspraak.scheduling.slot_cache.
        found = bookable_page_version(organization, type_slug)
        key = (
            page_cache_key(found, organization, request.GET, twelve_hour=twelve_hour)
            if found is not None
            else None
        )
        cached = PAGE_CACHE.get(key) if key else None
        if key and cached is not None and now <= cached[1]:
            # A visitor without an account or a message sees the same page as any other.
            plain = not request.user.is_authenticated and not len(get_messages(request))
            whole = PAGE_CACHE.get(f"{key}:plain") if plain else None
            if whole is not None and now <= whole[1]:
                return framable_by_embedders(_plain_page(request, whole[0], whole[2]), organization)
            response = render(
                request,
                "bookings/public/meeting_type.html",
                {"title": cached[2], "body": cached[0], "organization": organization},
            )
            if plain:
                # Kept gzipped too: the calendar's repetitive markup shrinks fivefold
                # (9.5 kB to 1.7 kB). The page holds no secret, so compressing it reveals
                # nothing (BREACH needs one beside the attacker's input).
                kept = (response.content, cached[1], compress_string(response.content))
                PAGE_CACHE.set(f"{key}:plain", kept, PAGE_CACHE_SECONDS)
            patch_vary_headers(response, ["Accept-Encoding"])
            return framable_by_embedders(response, organization)
        meeting_type = bookable_meeting_type_or_404(type_slug)
        summary = meeting_type_summary(meeting_type)
        book_url = reverse(
            "bookings:book", kwargs={"org_slug": organization.slug, "type_slug": meeting_type.slug}
        )
        picker = slot_picker(
            access,
            meeting_type,
            request.GET,
            now=now,
            page_url=summary["page_url"],
            slot_url=lambda start, tz: f"{book_url}?{urlencode({'start': start, 'tz': tz})}",
            twelve_hour=twelve_hour,
        )
        body = render_to_string(
            "bookings/public/_meeting_type_page.html", summary | {"picker": picker}
        )
        title = f"{meeting_type.name} · {organization.name}"
        if key and not picker["errors"]:
            PAGE_CACHE.set(key, (body, picker["valid_until"], title), PAGE_CACHE_SECONDS)
        response = render(
            request,
            "bookings/public/meeting_type.html",
            {"title": title, "body": body, "organization": organization},
            status=400 if picker["errors"] else 200,
        )
        # The same address may be answered gzipped (see _plain_page).
        patch_vary_headers(response, ["Accept-Encoding"])
        return framable_by_embedders(response, organization)
