"""Cross-tenant probes of the scheduling models (collected by the tenancy tests).

A's owner, who may manage every schedule and meeting type of A, uses B's ids in A's
URLs and forms: each must answer exactly as a made-up id does, and B's rows stay as
they were.
"""

from datetime import date

from afspraak.scheduling.models import DateOverride, MeetingType, Schedule
from afspraak.tenancy.context import organization_context
from afspraak.testing.factories import (
    DateOverrideFactory,
    MeetingTypeFactory,
    ScheduleFactory,
)

SCHEDULE_FORM = {
    "name": "Taken over",
    "time_zone": "UTC",
    "day_0": "00:00-24:00",
}


def _same_answer(client, method, url_of, theirs, made_up, data=None):
    probed = getattr(client, method)(url_of(theirs), data or {})
    missing = getattr(client, method)(url_of(made_up), data or {})
    assert probed.status_code == missing.status_code
    assert probed.content == missing.content
    return probed


def _theirs(tenants):
    return ScheduleFactory.create(organization=tenants.b, host=tenants.outsider.user)


def probe_schedule(client, tenants):
    schedule = _theirs(tenants)
    made_up = "sch_00000000000000000000"
    base = "/o/alpha/schedules/{}/"
    for method, suffix, data in (
        ("get", "", None),
        ("post", "", SCHEDULE_FORM),
        ("post", "delete/", None),
        ("post", "overrides/", {"date": "2030-01-02", "unavailable": "on"}),
    ):
        response = _same_answer(
            client, method, (base + suffix).format, schedule.public_id, made_up, data
        )
        assert response.status_code == 404
    # B's schedule offered in A's meeting-type form is refused like an unknown one.
    form = {"name": "Probe", "slug": "probe", "duration_minutes": 30, "location_kind": "video"}
    form |= {"visibility": "public", "minimum_notice_minutes": 60, "horizon_days": 30}
    form |= {"change_cutoff_minutes": 60, "buffer_before_minutes": 0, "buffer_after_minutes": 0}
    for schedule_id in (schedule.public_id, made_up):
        response = client.post(
            "/o/alpha/meeting-types/new/",
            form | {"schedule": schedule_id, "host": tenants.owner.user.public_id},
        )
        assert response.status_code == 400
        assert "Choose one of the host" in response.content.decode()
    with organization_context(tenants.a):
        assert not MeetingType.objects.exists()
    with organization_context(tenants.b):
        stored = Schedule.objects.get(pk=schedule.pk)
        assert (stored.name, stored.time_zone) == ("Office hours", "Europe/Amsterdam")
        assert stored.weekly_hours == schedule.weekly_hours
        assert not stored.overrides.exists()


def probe_date_override(client, tenants):
    override = DateOverrideFactory.create(schedule=_theirs(tenants), date=date(2030, 1, 2))
    ours = ScheduleFactory.create(organization=tenants.a, host=tenants.owner.user)
    made_up = "ovr_00000000000000000000"
    for schedule_id in (ours.public_id, override.schedule.public_id):
        url = f"/o/alpha/schedules/{schedule_id}/overrides/{{}}/remove/"
        response = _same_answer(client, "post", url.format, override.public_id, made_up)
        assert response.status_code == 404
    with organization_context(tenants.b):
        assert DateOverride.objects.filter(pk=override.pk).exists()


def probe_meeting_type(client, tenants):
    meeting_type = MeetingTypeFactory.create(schedule=_theirs(tenants), name="Theirs")
    made_up = "mtt_00000000000000000000"
    base = "/o/alpha/meeting-types/{}/"
    for method, suffix, data in (
        ("get", "", None),
        ("post", "", {"name": "Taken over", "slug": "taken"}),
        ("post", "delete/", None),
    ):
        response = _same_answer(
            client, method, (base + suffix).format, meeting_type.public_id, made_up, data
        )
        assert response.status_code == 404
    with organization_context(tenants.b):
        stored = MeetingType.objects.get(pk=meeting_type.pk)
        assert (stored.name, stored.slug, stored.visibility) == (
            "Theirs",
            meeting_type.slug,
            "public",
        )


PROBES = {
    "scheduling.Schedule": probe_schedule,
    "scheduling.DateOverride": probe_date_override,
    "scheduling.MeetingType": probe_meeting_type,
}
