"""The schedule and meeting-type pages: hosts edit their own, owners and admins everyone's."""

import re
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from afspraak.scheduling.models import DateOverride, MeetingType, Schedule, Visibility
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.roles import Role
from afspraak.testing.audit import events
from afspraak.testing.factories import (
    MeetingTypeFactory,
    MembershipFactory,
    ScheduleFactory,
)

pytestmark = pytest.mark.django_db

QUESTIONS = [
    {"key": "topic", "label": "What shall we discuss?", "kind": "long_text", "required": True},
    {
        "key": "level",
        "label": "Your level",
        "kind": "single_choice",
        "required": False,
        "choices": ["new", "returning"],
    },
]


@pytest.fixture
def other_member(tenants):
    return MembershipFactory.create(organization=tenants.a, role=Role.MEMBER).user


def _schedule_form(**overrides):
    return {"name": "Clinic hours", "time_zone": "Europe/Amsterdam", "day_0": "09:00-17:00"} | {
        **overrides
    }


def question_data(questions):
    """Return the question builder's POST data for ``questions``."""
    data = {"question-TOTAL_FORMS": str(len(questions)), "question-INITIAL_FORMS": "0"}
    for i, question in enumerate(questions):
        data |= {
            f"question-{i}-key": question.get("key", ""),
            f"question-{i}-label": question["label"],
            f"question-{i}-kind": question["kind"],
            f"question-{i}-choices": "\n".join(question.get("choices", [])),
        }
        if question.get("required"):
            data[f"question-{i}-required"] = "on"
    return data


def length_data(name, *, days=None, hours=None, minutes=None):
    """Return a length field's POST data: one box per unit given."""
    units = {"days": days, "hours": hours, "minutes": minutes}
    return {f"{name}_{unit}": str(value) for unit, value in units.items() if value is not None}


def _meeting_type_form(schedule, *, questions=QUESTIONS, **overrides):
    return (
        {
            "name": "First consultation",
            "slug": "first-consultation",
            "description": "Getting to know each other.",
            "schedule": schedule.public_id,
            "location_kind": "in_person",
            "location_detail": "Keizersgracht 1, Amsterdam",
            "visibility": "hidden",
            "horizon_days": 30,
            "limit_per_day": 4,
            "limit_per_week": 10,
            "requires_approval": "on",
            "reminder_offsets_minutes": "2 d, 30 min",
        }
        | length_data("duration_minutes", hours=0, minutes=45)
        | length_data("buffer_before_minutes", hours=0, minutes=10)
        | length_data("buffer_after_minutes", hours="", minutes=15)
        | length_data("minimum_notice_minutes", days=0, hours=2, minutes=0)
        | length_data("slot_interval_minutes", hours="", minutes=15)
        | length_data("change_cutoff_minutes", days=1, hours="", minutes="")
        | question_data(questions)
        | overrides
    )


def test_host_creates_a_schedule_with_several_ranges_a_day_and_date_overrides(client, tenants):
    client.force_login(tenants.member.user)
    response = client.post(
        "/o/alpha/schedules/new/",
        _schedule_form(day_0="09:00-12:00, 13:00-17:00", day_2=" 8:30 - 10:00 ", day_6=""),
    )
    assert response.status_code == 302
    with organization_context(tenants.a):
        schedule = Schedule.objects.get()
        assert schedule.host == tenants.member.user
        assert schedule.weekly_hours == {
            "0": [["09:00", "12:00"], ["13:00", "17:00"]],
            "2": [["08:30", "10:00"]],
        }
    assert response["Location"] == f"/o/alpha/schedules/{schedule.public_id}/"
    assert len(events("scheduling.schedule.created", organization=tenants.a)) == 1

    overrides = f"/o/alpha/schedules/{schedule.public_id}/overrides/"
    assert (
        client.post(overrides, {"date": "2030-01-07", "ranges": "10:00-11:00"}).status_code == 302
    )
    assert client.post(overrides, {"date": "2030-01-08", "unavailable": "on"}).status_code == 302
    with organization_context(tenants.a):
        stored = {o.date: o.ranges for o in DateOverride.objects.filter(schedule=schedule)}
        assert stored == {date(2030, 1, 7): [["10:00", "11:00"]], date(2030, 1, 8): []}
        engine = Schedule.objects.get(pk=schedule.pk).engine_schedule()
        assert engine.overrides[date(2030, 1, 8)] == ()
    page = client.get(f"/o/alpha/schedules/{schedule.public_id}/").content.decode()
    assert 'value="09:00-12:00, 13:00-17:00"' in page
    assert "Unavailable" in page
    assert len(events("scheduling.schedule.override_set", organization=tenants.a)) == 2


def test_setting_an_override_again_replaces_it_and_removing_it_is_audited(client, tenants):
    schedule = ScheduleFactory.create(organization=tenants.a, host=tenants.member.user)
    client.force_login(tenants.member.user)
    url = f"/o/alpha/schedules/{schedule.public_id}/overrides/"
    client.post(url, {"date": "2030-01-07", "unavailable": "on"})
    client.post(url, {"date": "2030-01-07", "ranges": "12:00-13:00"})
    with organization_context(tenants.a):
        override = DateOverride.objects.get()
        assert override.ranges == [["12:00", "13:00"]]
    remove = f"/o/alpha/schedules/{schedule.public_id}/overrides/{override.public_id}/remove/"
    assert client.post(remove).status_code == 302
    with organization_context(tenants.a):
        assert not DateOverride.objects.exists()
    assert len(events("scheduling.schedule.override_removed", organization=tenants.a)) == 1


def test_editing_a_schedule_replaces_its_name_zone_and_hours(client, tenants):
    schedule = ScheduleFactory.create(organization=tenants.a, host=tenants.member.user)
    client.force_login(tenants.member.user)
    response = client.post(
        f"/o/alpha/schedules/{schedule.public_id}/",
        {"name": "Evenings", "time_zone": "America/New_York", "day_4": "18:00-24:00"},
    )
    assert response.status_code == 302
    with organization_context(tenants.a):
        stored = Schedule.objects.get(pk=schedule.pk)
        assert (stored.name, stored.time_zone) == ("Evenings", "America/New_York")
        assert stored.weekly_hours == {"4": [["18:00", "24:00"]]}
    assert len(events("scheduling.schedule.updated", organization=tenants.a)) == 1


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ("17:00-09:00", "the end must come after the start"),
        ("9 to 5", "is not a range like 09:00-17:00"),
        ("09:00-12:00, 11:00-13:00", "These ranges overlap"),
        ("25:00-26:00", "is not a time of day"),
    ],
)
def test_a_bad_time_range_is_a_form_error_and_nothing_is_saved(client, tenants, hours, message):
    client.force_login(tenants.member.user)
    response = client.post("/o/alpha/schedules/new/", _schedule_form(day_1=hours))
    assert response.status_code == 400
    assert message in response.content.decode()
    with organization_context(tenants.a):
        assert not Schedule.objects.exists()


def test_an_unknown_time_zone_is_a_form_error(client, tenants):
    schedule = ScheduleFactory.create(organization=tenants.a, host=tenants.member.user)
    client.force_login(tenants.member.user)
    response = client.post(
        f"/o/alpha/schedules/{schedule.public_id}/", _schedule_form(time_zone="Mars/Olympus")
    )
    assert response.status_code == 400
    assert "is not a time zone we offer" in response.content.decode()
    with organization_context(tenants.a):
        assert Schedule.objects.get(pk=schedule.pk).time_zone == "Europe/Amsterdam"


@pytest.mark.parametrize("zone", ["Factory", "US/Eastern", "Etc/GMT-3", "localtime"])
def test_a_zone_that_is_no_place_people_live_is_refused(client, tenants, zone):
    client.force_login(tenants.member.user)
    response = client.post("/o/alpha/schedules/new/", _schedule_form(time_zone=zone))
    assert response.status_code == 400
    assert f"“{zone}” is not a time zone we offer" in response.content.decode()
    with organization_context(tenants.a):
        assert not Schedule.objects.exists()


def test_a_new_schedule_asks_for_the_browsers_zone_and_falls_back_to_utc(client, tenants):
    client.force_login(tenants.member.user)
    html = client.get("/o/alpha/schedules/new/").content.decode()
    select = re.search(r"<select name=\"time_zone\"[^>]*>", html)
    assert select is not None
    assert "data-zone-detect" in select.group(0)
    assert "data-zone-search" in select.group(0)
    assert '<option value="UTC" selected>' in html
    assert 'Europe/Amsterdam" selected' not in html
    assert '<optgroup label="Europe">' in html
    assert "zone-picker" in html


def test_an_existing_schedule_keeps_its_zone_and_asks_no_detection(client, tenants):
    schedule = ScheduleFactory.create(
        organization=tenants.a, host=tenants.member.user, time_zone="Asia/Tokyo"
    )
    client.force_login(tenants.member.user)
    html = client.get(f"/o/alpha/schedules/{schedule.public_id}/").content.decode()
    assert '<option value="Asia/Tokyo" selected>Tokyo (UTC+09:00)</option>' in html
    assert "data-zone-detect" not in html


def test_a_schedule_in_a_legacy_zone_shows_it_and_asks_for_another(client, tenants):
    schedule = ScheduleFactory.create(
        organization=tenants.a, host=tenants.member.user, time_zone="US/Eastern"
    )
    client.force_login(tenants.member.user)
    html = client.get(f"/o/alpha/schedules/{schedule.public_id}/").content.decode()
    assert (
        '<option value="US/Eastern" selected>US/Eastern (no longer offered: choose another)' in html
    )
    assert html.count(" selected>") == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"date": "2030-01-07"}, "Give the hours for this date, or mark it unavailable."),
        ({"date": "2030-01-07", "ranges": "10:00-11:00", "unavailable": "on"}, "not both"),
        ({"date": "2030-02-30", "unavailable": "on"}, "Enter a valid date."),
        ({"date": "2030-01-07", "ranges": "11:00-10:00"}, "the end must come after the start"),
    ],
)
def test_a_bad_override_is_a_form_error(client, tenants, data, message):
    schedule = ScheduleFactory.create(organization=tenants.a, host=tenants.member.user)
    client.force_login(tenants.member.user)
    response = client.post(f"/o/alpha/schedules/{schedule.public_id}/overrides/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    with organization_context(tenants.a):
        assert not DateOverride.objects.exists()


def test_a_schedule_in_use_is_not_deleted_and_an_unused_one_is(client, tenants):
    used = MeetingTypeFactory.create(
        schedule=ScheduleFactory.create(organization=tenants.a, host=tenants.member.user)
    )
    unused = ScheduleFactory.create(organization=tenants.a, host=tenants.member.user)
    client.force_login(tenants.member.user)
    refused = client.post(f"/o/alpha/schedules/{used.schedule.public_id}/delete/")
    assert refused.status_code == 409
    assert "Meeting types use this schedule" in refused.content.decode()
    assert client.post(f"/o/alpha/schedules/{unused.public_id}/delete/").status_code == 302
    with organization_context(tenants.a):
        assert list(Schedule.objects.all()) == [used.schedule]
    assert len(events("scheduling.schedule.deleted", organization=tenants.a)) == 1


def test_host_creates_a_meeting_type_with_every_setting_and_questions(client, tenants):
    schedule = ScheduleFactory.create(organization=tenants.a, host=tenants.member.user)
    client.force_login(tenants.member.user)
    response = client.post("/o/alpha/meeting-types/new/", _meeting_type_form(schedule))
    assert response.status_code == 302
    with organization_context(tenants.a):
        meeting_type = MeetingType.objects.get()
    assert (meeting_type.host_id, meeting_type.schedule_id) == (tenants.member.user.pk, schedule.pk)
    assert meeting_type.questions == QUESTIONS
    assert meeting_type.reminder_offsets_minutes == [2880, 30]
    assert (meeting_type.duration_minutes, meeting_type.slot_interval_minutes) == (45, 15)
    assert (meeting_type.buffer_before_minutes, meeting_type.buffer_after_minutes) == (10, 15)
    assert (meeting_type.limit_per_day, meeting_type.limit_per_week) == (4, 10)
    assert meeting_type.requires_approval
    assert meeting_type.visibility == Visibility.HIDDEN
    assert len(events("scheduling.meeting_type.created", organization=tenants.a)) == 1
    page = client.get(response["Location"]).content.decode()
    assert "https://testserver/alpha/first-consultation/" in page
    assert "What shall we discuss?" in page


def test_the_new_meeting_type_form_offers_the_defaults_in_days_hours_and_minutes(client, tenants):
    ScheduleFactory.create(organization=tenants.a, host=tenants.member.user)
    client.force_login(tenants.member.user)
    page = client.get("/o/alpha/meeting-types/new/").content.decode()
    assert re.search(r'name="reminder_offsets_minutes"[^>]*value="1 d, 1 h"', page)
    assert re.search(r'name="duration_minutes_hours"[^>]*value="0"', page)
    assert re.search(r'name="duration_minutes_minutes"[^>]*value="30"', page)
    assert re.search(r'name="change_cutoff_minutes_days"[^>]*value="1"', page)
    assert re.search(r'name="minimum_notice_minutes_hours"[^>]*value="4"', page)
    for legend in ("Basics", "Availability", "Limits", "Notifications", "Questions"):
        assert f"<legend>{legend}</legend>" in page


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"questions": [{"label": "A", "kind": "essay"}]}, "Select a valid choice"),
        (
            {"questions": [{"label": "A", "kind": "single_choice"}]},
            "Give the options to choose from, one per line.",
        ),
        (
            {"questions": [{"label": "A", "kind": "single_choice", "choices": ["x", "x"]}]},
            "Give each option once.",
        ),
        ({"questions": [{"label": " ", "kind": "long_text"}]}, "Write the question."),
        (
            {"questions": [{"key": "not a key", "label": "A", "kind": "short_text"}]},
            "must be a short identifier",
        ),
        ({"reminder_offsets_minutes": "1 d, 2 min"}, "Reminders are up to 5 different offsets"),
        ({"reminder_offsets_minutes": "a day"}, "“a day”: write a length like"),
        ({"reminder_offsets_minutes": "2 weeks"}, "“weeks” is not a unit"),
        ({"location_kind": "link", "location_detail": "http://x.test"}, "must start with https"),
        (length_data("duration_minutes", hours=0, minutes=0), "Give a length from 5 min to 12 h."),
        (length_data("duration_minutes", hours=13, minutes=0), "Give a length from 5 min to 12 h."),
        (
            length_data("duration_minutes", hours="an", minutes=30),
            "“an” is not a whole number of hours",
        ),
        (
            length_data("duration_minutes", hours="", minutes=""),
            "This field is required.",
        ),
        ({"slug": "Not A Slug!"}, "Enter a valid"),
        ({"name": "---", "slug": ""}, "the name has no letters or digits"),
    ],
)
def test_bad_meeting_type_input_is_a_form_error(client, tenants, overrides, message):
    schedule = ScheduleFactory.create(organization=tenants.a, host=tenants.member.user)
    client.force_login(tenants.member.user)
    response = client.post("/o/alpha/meeting-types/new/", _meeting_type_form(schedule, **overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    with organization_context(tenants.a):
        assert not MeetingType.objects.exists()


def test_a_slug_used_by_another_meeting_type_of_the_organization_is_a_form_error(
    client, tenants, other_member
):
    MeetingTypeFactory.create(
        schedule=ScheduleFactory.create(organization=tenants.a, host=other_member),
        slug="first-consultation",
    )
    schedule = ScheduleFactory.create(organization=tenants.a, host=tenants.member.user)
    client.force_login(tenants.member.user)
    response = client.post("/o/alpha/meeting-types/new/", _meeting_type_form(schedule))
    assert response.status_code == 400
    assert "already uses this web address" in response.content.decode()
    with organization_context(tenants.a):
        assert MeetingType.objects.count() == 1


def test_a_slug_used_in_another_organization_is_free(client, tenants):
    MeetingTypeFactory.create(slug="first-consultation")
    client.force_login(tenants.member.user)
    schedule = ScheduleFactory.create(organization=tenants.a, host=tenants.member.user)
    response = client.post("/o/alpha/meeting-types/new/", _meeting_type_form(schedule))
    assert response.status_code == 302


def test_a_member_cannot_use_another_hosts_schedule(client, tenants, other_member):
    theirs = ScheduleFactory.create(organization=tenants.a, host=other_member)
    client.force_login(tenants.member.user)
    response = client.post("/o/alpha/meeting-types/new/", _meeting_type_form(theirs))
    assert response.status_code == 400
    assert "Choose one of the host" in response.content.decode()
    with organization_context(tenants.a):
        assert not MeetingType.objects.exists()


def test_an_owner_may_host_for_a_member_but_only_on_that_members_schedule(client, tenants):
    owners_schedule = ScheduleFactory.create(organization=tenants.a, host=tenants.owner.user)
    members_schedule = ScheduleFactory.create(organization=tenants.a, host=tenants.member.user)
    client.force_login(tenants.owner.user)
    form = _meeting_type_form(owners_schedule, host=tenants.member.user.public_id)
    refused = client.post("/o/alpha/meeting-types/new/", form)
    assert refused.status_code == 400
    assert "The schedule must be the host" in refused.content.decode()
    form = _meeting_type_form(members_schedule, host=tenants.member.user.public_id)
    assert client.post("/o/alpha/meeting-types/new/", form).status_code == 302
    with organization_context(tenants.a):
        assert MeetingType.objects.get().host == tenants.member.user


def test_a_member_cannot_see_or_edit_another_hosts_meeting_type(client, tenants, other_member):
    theirs = MeetingTypeFactory.create(
        schedule=ScheduleFactory.create(organization=tenants.a, host=other_member), name="Theirs"
    )
    client.force_login(tenants.member.user)
    for method, suffix in (("get", ""), ("post", ""), ("post", "delete/")):
        probed = getattr(client, method)(f"/o/alpha/meeting-types/{theirs.public_id}/{suffix}")
        missing = getattr(client, method)(f"/o/alpha/meeting-types/mtt_000000000000/{suffix}")
        assert probed.status_code == missing.status_code == 404
        assert probed.content == missing.content
    assert theirs.public_id not in client.get("/o/alpha/meeting-types/").content.decode()
    schedule_page = client.get(f"/o/alpha/schedules/{theirs.schedule.public_id}/")
    assert schedule_page.status_code == 404
    with organization_context(tenants.a):
        assert MeetingType.objects.get(pk=theirs.pk).name == "Theirs"
    client.force_login(tenants.owner.user)
    edit = f"/o/alpha/meeting-types/{theirs.public_id}/"
    assert client.get(edit).status_code == 200
    form = _meeting_type_form(theirs.schedule, host=other_member.public_id, name="Renamed")
    assert client.post(edit, form).status_code == 302
    with organization_context(tenants.a):
        assert MeetingType.objects.get(pk=theirs.pk).name == "Renamed"
    assert len(events("scheduling.meeting_type.updated", organization=tenants.a)) == 1


def test_a_meeting_type_with_bookings_is_disabled_instead_of_deleted(client, tenants):
    from afspraak.bookings.tests.url_matrix import booking_of

    booked = booking_of(tenants.a, tenants.member.user).meeting_type
    unbooked = MeetingTypeFactory.create(schedule=booked.schedule)
    client.force_login(tenants.member.user)
    for meeting_type in (booked, unbooked):
        url = f"/o/alpha/meeting-types/{meeting_type.public_id}/delete/"
        assert client.post(url).status_code == 302
    with organization_context(tenants.a):
        assert list(MeetingType.objects.all()) == [booked]
        assert MeetingType.objects.get().visibility == Visibility.DISABLED
    assert len(events("scheduling.meeting_type.disabled", organization=tenants.a)) == 1
    assert len(events("scheduling.meeting_type.deleted", organization=tenants.a)) == 1


def test_the_meeting_type_list_takes_the_same_queries_for_more_types(
    client, tenants, django_assert_num_queries
):
    schedule = ScheduleFactory.create(organization=tenants.a, host=tenants.member.user)
    MeetingTypeFactory.create(schedule=schedule)
    client.force_login(tenants.member.user)
    client.get("/o/alpha/meeting-types/")
    with CaptureQueriesContext(connection) as one:
        client.get("/o/alpha/meeting-types/")
    MeetingTypeFactory.create_batch(4, schedule=schedule)
    with django_assert_num_queries(len(one.captured_queries)):
        page = client.get("/o/alpha/meeting-types/")
    assert page.content.decode().count('<a href="https://testserver/alpha/intake-') == 5


def test_an_owner_may_create_a_schedule_for_a_member_but_a_member_only_for_themselves(
    client, tenants, other_member
):
    client.force_login(tenants.owner.user)
    form = _schedule_form(host=tenants.member.user.public_id)
    assert client.post("/o/alpha/schedules/new/", form).status_code == 302
    client.force_login(other_member)
    assert 'name="host"' not in client.get("/o/alpha/schedules/new/").content.decode()
    assert client.post("/o/alpha/schedules/new/", form).status_code == 302
    with organization_context(tenants.a):
        assert sorted(s.host_id for s in Schedule.objects.all()) == sorted(
            [tenants.member.user.pk, other_member.pk]
        )
