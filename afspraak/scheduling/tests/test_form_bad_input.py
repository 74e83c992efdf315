"""Malformed schedule and meeting-type input is a form error (400), never a crash."""

import pytest

from afspraak.inputs.names import NAME_HAS_BIDI_CONTROLS
from afspraak.scheduling.models import MeetingType, Schedule
from afspraak.scheduling.tests.test_views import _meeting_type_form, _schedule_form, length_data
from afspraak.tenancy.context import organization_context
from afspraak.testing.factories import ScheduleFactory

pytestmark = pytest.mark.django_db

RLO = "\u202e"


@pytest.fixture
def member(tenants, client):
    """Organization A's member, signed in."""
    client.force_login(tenants.member.user)
    return tenants.member.user


def _post_meeting_type(client, org, member, **overrides):
    schedule = ScheduleFactory.create(organization=org, host=member)
    return client.post("/o/alpha/meeting-types/new/", _meeting_type_form(schedule, **overrides))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"question-TOTAL_FORMS": "5000"}, "Please submit at most 20 forms."),
        ({"question-TOTAL_FORMS": "many"}, "ManagementForm data is missing or has been tampered"),
        ({"reminder_offsets_minutes": "²"}, "“²”: write a length like"),
        ({"reminder_offsets_minutes": "9" * 11}, "must be at most 1000000"),
        (length_data("buffer_before_minutes", hours="²"), "“²” is not a whole number of hours"),
        (length_data("buffer_before_minutes", minutes="9" * 30), "must be at most 1440"),
        ({"name": f"Intake{RLO}gnp.exe"}, NAME_HAS_BIDI_CONTROLS),
        ({"questions": [{"label": f"A{RLO}", "kind": "long_text"}]}, NAME_HAS_BIDI_CONTROLS),
        (
            {"questions": [{"label": "A", "kind": "single_choice", "choices": [f"x{RLO}"]}]},
            f"“x{RLO}”: {NAME_HAS_BIDI_CONTROLS}",
        ),
        (
            {"questions": [{"label": "A", "kind": "single_choice", "choices": ["x" * 101]}]},
            "is longer than 100 characters",
        ),
    ],
)
def test_malformed_meeting_type_input_is_a_clear_form_error(
    client, tenants, member, overrides, message
):
    response = _post_meeting_type(client, tenants.a, member, **overrides)
    assert response.status_code == 400
    assert message in response.content.decode()
    with organization_context(tenants.a):
        assert not MeetingType.objects.exists()


def test_a_meeting_type_name_with_joiners_is_accepted(client, tenants, member):
    response = _post_meeting_type(
        client, tenants.a, member, name="گفت\u200cوگو \U0001f469\u200d\U0001f4bb"
    )
    assert response.status_code == 302
    with organization_context(tenants.a):
        assert MeetingType.objects.get().name == "گفت\u200cوگو \U0001f469\u200d\U0001f4bb"


def test_a_schedule_name_with_a_direction_override_is_a_form_error(client, tenants, member):
    response = client.post("/o/alpha/schedules/new/", _schedule_form(name=f"Clinic{RLO}"))
    assert response.status_code == 400
    assert NAME_HAS_BIDI_CONTROLS in response.content.decode()
    with organization_context(tenants.a):
        assert not Schedule.objects.exists()


def test_a_date_override_at_the_end_of_the_calendar_is_a_form_error(client, tenants, member):
    schedule = ScheduleFactory.create(organization=tenants.a, host=member)
    response = client.post(
        f"/o/alpha/schedules/{schedule.public_id}/overrides/",
        {"date": "9999-12-31", "unavailable": "on"},
    )
    assert response.status_code == 400
    assert "before the year 9999" in response.content.decode()
