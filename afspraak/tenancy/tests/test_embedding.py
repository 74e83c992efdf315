"""Framing: only the sites an organization names may frame its public booking pages;
every other page stays unframeable."""

import re

import pytest
from django.urls import reverse

from afspraak.bookings.links import invitee_url
from afspraak.bookings.tests.url_matrix import booking_of
from afspraak.tenancy.embedding import parse_embed_origins, update_embed_origins
from afspraak.tenancy.errors import TenancyError
from afspraak.testing.access import member_access
from afspraak.testing.audit import assert_audited

pytestmark = pytest.mark.django_db

SITE = "https://www.alpha.example"


def test_origins_are_kept_one_a_line_lower_case_without_duplicates():
    written = "https://WWW.Alpha.example/\n\n  https://book.alpha.example:8443 \nhttps://www.alpha.example"
    assert parse_embed_origins(written) == [SITE, "https://book.alpha.example:8443"]
    assert parse_embed_origins("") == []


@pytest.mark.parametrize(
    "written",
    [
        "http://www.alpha.example",
        "https://*.alpha.example",
        "https://www.alpha.example/booking",
        "https://www.alpha.example?x=1",
        "https://user@www.alpha.example",
        "https://www.alpha.example; script-src *",
        "https://www.alpha.example 'unsafe-inline'",
        "www.alpha.example",
        "https://localhost",
        "https://www.alpha.example:99999",
        "*",
    ],
)
def test_anything_but_an_https_origin_is_refused(written):
    with pytest.raises(TenancyError, match="is not a site address"):
        parse_embed_origins(written)


def test_at_most_ten_sites():
    with pytest.raises(TenancyError, match="at most 10"):
        parse_embed_origins("\n".join(f"https://s{n}.example" for n in range(11)))


def test_an_admin_names_the_sites_on_the_embedding_page(client, tenants):
    client.force_login(tenants.admin.user)
    url = reverse("tenancy:embedding", args=[tenants.a.slug])
    refused = client.post(url, {"embed_origins": "http://insecure.example"})
    assert refused.status_code == 400
    assert "is not a site address" in refused.content.decode()
    assert client.post(url, {"embed_origins": SITE}).status_code == 302
    tenants.a.refresh_from_db()
    assert tenants.a.embed_origins == SITE
    assert_audited("tenancy.embedding.updated", organization_id=tenants.a)


def _framable_by(response) -> str:
    directives = dict(
        part.strip().partition(" ")[::2] for part in response["Content-Security-Policy"].split(";")
    )
    return directives["frame-ancestors"]


def test_only_the_public_booking_pages_of_that_organization_may_be_framed(client, tenants, clock):
    update_embed_origins(member_access(tenants.owner), SITE)
    tenants.a.refresh_from_db()
    booking = booking_of(tenants.a, tenants.member.user)
    theirs = booking_of(tenants.b, tenants.outsider.user)
    slug = booking.meeting_type.slug
    framable = ["/alpha/", f"/alpha/{slug}/", f"/alpha/{slug}/"]
    for path in framable:
        for encoding in ("", "gzip"):
            response = client.get(path, HTTP_ACCEPT_ENCODING=encoding)
            assert response.status_code == 200, path
            assert _framable_by(response) == SITE, path
            assert "X-Frame-Options" not in response, path
    # The calendar's times open the booking form in the top window, never in the frame.
    assert 'target="_top" data-slot' in client.get(f"/alpha/{slug}/").content.decode()

    unframable = [
        f"/alpha/{slug}/book/",
        invitee_url(booking),
        "/beta/",
        f"/beta/{theirs.meeting_type.slug}/",
        "/",
        "/accounts/login/",
        "/alpha/no-such-meeting/",
    ]
    client.force_login(tenants.owner.user)
    unframable += ["/o/alpha/", "/o/alpha/embedding/", "/o/alpha/branding/"]
    for path in unframable:
        response = client.get(path)
        assert _framable_by(response) == "'none'", path
        assert response["X-Frame-Options"] == "DENY", path


def test_the_home_page_offers_the_embed_code_once_a_site_is_named(client, tenants, clock):
    booking = booking_of(tenants.a, tenants.owner.user)
    client.force_login(tenants.owner.user)
    before = client.get("/").content.decode()
    assert "Embed code" not in before
    assert reverse("tenancy:embedding", args=["alpha"]) in before
    update_embed_origins(member_access(tenants.owner), SITE)
    after = client.get("/").content.decode()
    link = re.escape(f"/alpha/{booking.meeting_type.slug}/")
    assert re.search(r'&lt;iframe src="https://[^"]+' + link + r'" title="Book [^"]+"', after)
