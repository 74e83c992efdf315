"""The booking pages name the time-zone list rather than carry it (issue 12, speed).

The list is served at an address holding its hour and a hash of its content, cached
for good; a page shows its chosen zone alone, and without script a "More time zones"
link leads to the page with every zone in it.
"""

import gzip
import re
from datetime import timedelta

import pytest
from django.urls import reverse

from afspraak.scheduling.zones import ZONE_LIST_HOURS_KEPT, canonical_zones
from afspraak.testing.clock import CLOCK_START
from afspraak.testing.factories import MeetingTypeFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


@pytest.fixture
def page_url():
    meeting_type = MeetingTypeFactory.create()
    return reverse(
        "bookings:meeting_type",
        kwargs={"org_slug": meeting_type.organization.slug, "type_slug": meeting_type.slug},
    )


def zone_list_url(html: str) -> str:
    found = re.search(r'data-zone-list="(/b/zones/[^"]+/)"', html)
    assert found, "the picker names no zone list"
    return found[1]


def test_the_booking_page_shows_the_chosen_zone_and_names_the_list(client, page_url):
    html = client.get(page_url, {"tz": "Asia/Tokyo"}).content.decode()
    select = re.search(r'<select name="tz".*?</select>', html, re.S)
    assert select
    assert re.findall(r"<option[^>]*>[^<]*</option>", select[0]) == [
        '<option value="Asia/Tokyo" selected>Tokyo (UTC+09:00)</option>'
    ]
    assert zone_list_url(html).startswith("/b/zones/2026120112-")
    more = re.search(r'<a href="([^"]+)" rel="nofollow" data-zone-more>More time zones</a>', html)
    assert more
    assert "zones=all" in more[1]
    assert "tz=Asia%2FTokyo" in more[1]


def test_the_zone_list_is_every_zone_with_its_offset_cached_for_good(client, page_url):
    response = client.get(zone_list_url(client.get(page_url).content.decode()))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "Accept-Encoding" in response["Vary"]
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert not response.cookies
    html = response.content.decode()
    values = re.findall(r'<option value="([^"]+)">', html)
    assert sorted(values) == sorted(canonical_zones())
    assert '<option value="Asia/Tokyo">Tokyo (UTC+09:00)</option>' in html
    assert '<optgroup label="Europe">' in html
    assert " selected" not in html
    assert "<script" not in html


def test_a_browser_taking_gzip_gets_the_same_list_gzipped(client, page_url):
    url = zone_list_url(client.get(page_url).content.decode())
    plain = client.get(url).content
    packed = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.content) == plain
    assert len(packed.content) * 4 < len(plain)


def test_a_page_kept_from_an_earlier_hour_still_finds_its_list(client, page_url, clock):
    url = zone_list_url(client.get(page_url).content.decode())
    clock.shift(timedelta(hours=ZONE_LIST_HOURS_KEPT - 1))
    assert client.get(url).status_code == 200
    clock.shift(timedelta(hours=2))
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    "version",
    [
        "junk",
        # The right hour with another content's hash: a list from before a zone update.
        "2026120112-000000000000",
        # A well-formed hour the list is not kept for, far ahead and far behind.
        "2026120300-000000000000",
        "2020010100-000000000000",
        "2026130112-000000000000",
    ],
)
def test_a_list_the_server_does_not_serve_now_is_404(client, version):
    assert client.get(reverse("bookings:zone_options", args=[version])).status_code == 404


def test_without_script_more_time_zones_lists_every_zone_with_the_chosen_one(client, page_url):
    html = client.get(page_url, {"tz": "Asia/Tokyo", "zones": "all"}).content.decode()
    assert html.count("<option ") == len(canonical_zones())
    assert '<option value="Asia/Tokyo" selected>Tokyo (UTC+09:00)</option>' in html
    assert "data-zone-list" not in html
    assert "More time zones" not in html


def test_the_list_of_this_hour_names_the_hour_it_was_made_in(client, page_url, clock):
    first = zone_list_url(client.get(page_url).content.decode())
    clock.move_to(CLOCK_START + timedelta(hours=1))
    later = zone_list_url(client.get(page_url, {"month": "2026-12"}).content.decode())
    assert first != later
    assert later.startswith("/b/zones/2026120113-")
