"""The public pages: an organization's meeting types and the month/day slot picker."""

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from afspraak.audit.context import AuditContext
from afspraak.bookings.booking import SlotNotOfferedError, free_slots
from afspraak.scheduling.models import Visibility
from afspraak.scheduling.slots import slots_by_local_date
from afspraak.tenancy.access import access_for_system
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.membership import remove_member
from afspraak.tenancy.models import Membership
from afspraak.tenancy.roles import Role
from afspraak.testing.access import visitor_access
from afspraak.testing.clock import CLOCK_START
from afspraak.testing.factories import (
    DateOverrideFactory,
    MeetingTypeFactory,
    MembershipFactory,
    book,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

# Tuesday 2026-12-01, 13:00 in Amsterdam. Monday 2026-12-07 09:00 Amsterdam is 08:00 UTC.
NOW = CLOCK_START
MONDAY_0900 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


@pytest.fixture
def meeting_type():
    return MeetingTypeFactory.create(name="Intake call", description="We get to know each other.")


def page_url(meeting_type) -> str:
    return reverse(
        "bookings:meeting_type",
        kwargs={"org_slug": meeting_type.organization.slug, "type_slug": meeting_type.slug},
    )


def free_day_links(html: str) -> set[date]:
    return {
        date.fromisoformat(day) for day in re.findall(r'data-free-day="[^"]*date=([\d-]+)', html)
    }


def slot_links(html: str) -> list[tuple[str, str]]:
    """Return (start parameter, shown label) of each slot link on the page."""
    return re.findall(r'href="[^"]*start=([^&"]+)[^"]*"[^>]*data-slot>([^<]+)<', html)


def test_organization_page_lists_only_public_meeting_types(client, meeting_type):
    organization = meeting_type.organization
    hidden = MeetingTypeFactory.create(
        schedule=meeting_type.schedule, name="Secret consult", visibility=Visibility.HIDDEN
    )
    MeetingTypeFactory.create(
        schedule=meeting_type.schedule, name="Old workshop", visibility=Visibility.DISABLED
    )
    response = client.get(reverse("bookings:organization", kwargs={"org_slug": organization.slug}))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Intake call" in html
    assert page_url(meeting_type) in html
    assert "Secret consult" not in html
    assert hidden.slug not in html
    assert "Old workshop" not in html


def test_unknown_organization_is_404(client):
    assert client.get("/no-such-practice/").status_code == 404
    assert client.get("/no-such-practice/intake/").status_code == 404


def test_the_month_view_links_exactly_the_days_the_engine_finds_free(client, meeting_type):
    DateOverrideFactory.create(schedule=meeting_type.schedule, date=date(2026, 12, 9))
    # Fill Thursday 10 December: 16 half-hour slots of 09:00-17:00 Amsterdam.
    thursday = datetime(2026, 12, 10, 8, 0, tzinfo=UTC)
    for n in range(16):
        book(meeting_type, thursday + timedelta(minutes=30 * n), n=n)
    zone = ZoneInfo("Pacific/Kiritimati")  # UTC+14: Amsterdam's Friday is Saturday there
    with organization_context(meeting_type.organization):
        slots = free_slots(
            visitor_access(meeting_type.organization),
            meeting_type,
            window_start=datetime(2026, 11, 20, tzinfo=UTC),
            window_end=datetime(2027, 1, 10, tzinfo=UTC),
            now=NOW,
        )
    expected = {day for day in slots_by_local_date(slots, zone) if day.month == 12}

    response = client.get(page_url(meeting_type), {"tz": zone.key, "month": "2026-12"})

    assert response.status_code == 200
    shown = free_day_links(response.content.decode())
    assert shown == expected
    # Kiritimati's 10 December is Amsterdam's Wednesday afternoon (away) and Thursday
    # morning (full); its Saturday 12 December is Amsterdam's Friday afternoon (free).
    assert date(2026, 12, 10) not in shown
    assert date(2026, 12, 12) in shown


def test_slots_are_shown_in_the_invitees_time_zone(client, meeting_type):
    response = client.get(page_url(meeting_type), {"tz": "America/New_York", "date": "2026-12-07"})
    links = slot_links(response.content.decode())
    assert response.status_code == 200
    assert links[0] == ("2026-12-07T08%3A00%3A00Z", "03:00")
    assert len(links) == 16
    assert links[-1][1] == "10:30"


@pytest.mark.parametrize(
    ("accept_language", "first", "last"),
    [
        ("en-US,en;q=0.9", "3:00 AM", "10:30 AM"),
        ("en-GB,en;q=0.9", "03:00", "10:30"),
        ("nl-NL,nl;q=0.9,en;q=0.8", "03:00", "10:30"),
        ("", "03:00", "10:30"),
    ],
)
def test_times_follow_the_languages_clock(client, meeting_type, accept_language, first, last):
    response = client.get(
        page_url(meeting_type),
        {"tz": "America/New_York", "date": "2026-12-07"},
        headers={"accept-language": accept_language},
    )
    links = slot_links(response.content.decode())
    assert (links[0][1], links[-1][1]) == (first, last)


def test_the_booking_form_shows_an_en_us_invitee_a_12_hour_time(client, meeting_type):
    book_url = reverse(
        "bookings:book",
        kwargs={"org_slug": meeting_type.organization.slug, "type_slug": meeting_type.slug},
    )
    response = client.get(
        book_url,
        {"start": "2026-12-07T15:00:00Z", "tz": "Asia/Tokyo"},
        headers={"accept-language": "en-US"},
    )
    assert response.status_code == 200
    assert "Tuesday 8 December 2026, 12:00 AM to 12:30 AM (Asia/Tokyo, JST)" in (
        response.content.decode()
    )


def test_the_page_names_the_host_and_the_organization_once_each(client, meeting_type):
    meeting_type.host.full_name = "Hanna de Vries"
    meeting_type.host.save()
    html = client.get(page_url(meeting_type)).content.decode()
    assert f"With Hanna de Vries · {meeting_type.organization.name}" in html
    assert meeting_type.host.email not in html


def test_a_host_without_a_name_is_not_shown_as_the_organization_twice(client, meeting_type):
    meeting_type.host.full_name = ""
    meeting_type.host.save()
    html = client.get(page_url(meeting_type)).content.decode()
    name = meeting_type.organization.name
    assert f'<p class="host">{name}</p>' in html
    assert f"{name} · {name}" not in html


def test_without_a_zone_the_page_shows_the_schedules_zone(client, meeting_type):
    response = client.get(page_url(meeting_type), {"date": "2026-12-07"})
    html = response.content.decode()
    assert slot_links(html)[0] == ("2026-12-07T08%3A00%3A00Z", "09:00")
    assert '<option value="Europe/Amsterdam" selected>' in html


def test_a_booked_slot_is_not_shown(client, meeting_type):
    book(meeting_type, MONDAY_0900)
    response = client.get(page_url(meeting_type), {"tz": "Europe/Amsterdam", "date": "2026-12-07"})
    labels = [label for _, label in slot_links(response.content.decode())]
    assert "09:00" not in labels
    assert labels[0] == "09:30"


def test_without_a_date_the_first_free_day_of_the_month_is_shown(client, meeting_type):
    response = client.get(page_url(meeting_type), {"tz": "Europe/Amsterdam"})
    html = response.content.decode()
    # Today (Tuesday 1 December) from 13:00 plus an hour's notice: 14:00 is first.
    assert "Tuesday 1 December 2026" in html
    assert slot_links(html)[0][1] == "14:00"


def test_month_links_stay_between_today_and_the_horizon(client, meeting_type):
    html = client.get(page_url(meeting_type), {"tz": "Europe/Amsterdam"}).content.decode()
    assert "month=2026-11" not in html
    assert "month=2027-01" in html
    # The horizon (60 days) ends with 30 January.
    january = client.get(page_url(meeting_type), {"tz": "Europe/Amsterdam", "month": "2027-01"})
    assert "month=2027-02" not in january.content.decode()
    assert max(free_day_links(january.content.decode())) == date(2027, 1, 29)  # a Friday
    february = client.get(page_url(meeting_type), {"tz": "Europe/Amsterdam", "month": "2027-02"})
    assert free_day_links(february.content.decode()) == set()
    assert "No free times in February 2027" in february.content.decode()


def test_a_hidden_meeting_type_is_bookable_by_its_link(client, meeting_type):
    hidden = MeetingTypeFactory.create(schedule=meeting_type.schedule, visibility=Visibility.HIDDEN)
    response = client.get(page_url(hidden), {"tz": "Europe/Amsterdam", "date": "2026-12-07"})
    assert response.status_code == 200
    assert len(slot_links(response.content.decode())) == 16


def test_a_disabled_meeting_type_is_404_like_an_unknown_one(client, meeting_type):
    disabled = MeetingTypeFactory.create(
        schedule=meeting_type.schedule, visibility=Visibility.DISABLED
    )
    assert client.get(page_url(disabled)).status_code == 404
    book_url = reverse(
        "bookings:book",
        kwargs={"org_slug": disabled.organization.slug, "type_slug": disabled.slug},
    )
    assert client.get(book_url, {"start": "2026-12-07T08:00:00Z"}).status_code == 404
    unknown = f"/{meeting_type.organization.slug}/no-such-type/"
    assert client.get(unknown).status_code == 404


def test_a_removed_hosts_meeting_types_are_no_longer_offered(client, meeting_type):
    organization, host = meeting_type.organization, meeting_type.host
    with organization_context(organization):
        membership = Membership.objects.get(user=host)
    owner = MembershipFactory.create(organization=organization, role=Role.OWNER).user
    owner_access = access_for_system(organization, AuditContext.system(owner))
    remove_member(owner_access, membership)

    assert client.get(page_url(meeting_type)).status_code == 404
    listing = client.get(reverse("bookings:organization", kwargs={"org_slug": organization.slug}))
    assert "Intake call" not in listing.content.decode()
    with pytest.raises(SlotNotOfferedError):
        book(meeting_type, MONDAY_0900)


def test_another_organizations_meeting_type_is_404(client, meeting_type):
    other = MeetingTypeFactory.create()
    url = reverse(
        "bookings:meeting_type",
        kwargs={"org_slug": meeting_type.organization.slug, "type_slug": other.slug},
    )
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"tz": "Mars/Olympus_Mons"}, "is not a time zone we offer"),
        ({"tz": "../../etc/passwd"}, "is not a time zone we offer"),
        # Names zoneinfo loads, but not zones people live in: aliases and legacy names.
        ({"tz": "Factory"}, "is not a time zone we offer"),
        ({"tz": "US/Eastern"}, "is not a time zone we offer"),
        ({"tz": "W-SU"}, "is not a time zone we offer"),
        ({"tz": "EST5EDT"}, "is not a time zone we offer"),
        ({"tz": "Etc/GMT+5"}, "is not a time zone we offer"),
        ({"tz": "localtime"}, "is not a time zone we offer"),
        ({"month": "2026-13"}, "not a month we can show"),
        ({"month": "December"}, "Give the month as YYYY-MM"),
        ({"month": "0001-01"}, "not a month we can show"),
        ({"date": "2026-02-30"}, "That is not a date"),
        ({"date": "9999-12-31"}, "not a date we can show"),
        ({"date": "yesterday"}, "Give the date as YYYY-MM-DD"),
    ],
)
def test_bad_query_values_get_a_clear_message_and_400(client, meeting_type, query, message):
    response = client.get(page_url(meeting_type), query)
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    # The page still works, on the defaults.
    assert "Europe/Amsterdam" in html
    assert free_day_links(html)


def test_the_pages_use_no_inline_script_or_style(client, meeting_type):
    response = client.get(page_url(meeting_type), {"tz": "Europe/Amsterdam"})
    html = response.content.decode()
    assert re.search(r'<script src="/static/js/booking\.(\w+\.)?js">', html)
    assert not re.search(r"<script(?![^>]*\ssrc=)", html)
    assert "<style" not in html
    assert " style=" not in html
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert re.search(r'href="/static/css/booking\.(\w+\.)?css"', html)
