"""The demo intro call `afspraak setup` creates: bookable at once, and created only once."""

from datetime import UTC, datetime

import pytest

from afspraak.bookings.booking import free_slots
from afspraak.scheduling.demo import create_demo_meeting_type
from afspraak.scheduling.models import MeetingType
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.demo import create_demo_organization
from afspraak.testing.access import visitor_access

pytestmark = pytest.mark.django_db

MORNING = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock_start():
    return MORNING


def test_the_demo_intro_call_offers_weekday_slots_in_amsterdam_office_hours(clock, tmp_path):
    create_demo_organization(tmp_path / "demo-login.txt")
    meeting_type = create_demo_meeting_type()

    with organization_context(meeting_type.organization):
        slots = free_slots(
            visitor_access(meeting_type.organization),
            meeting_type,
            window_start=datetime(2026, 12, 2, tzinfo=UTC),
            window_end=datetime(2026, 12, 3, tzinfo=UTC),
            now=MORNING,
        )
        # Wednesday 09:00-12:00 and 13:00-17:00 CET: 08:00-11:00 and 12:00-16:00 UTC.
        assert slots[0] == datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
        assert slots[-1] == datetime(2026, 12, 2, 15, 30, tzinfo=UTC)
        assert len(slots) == 14
        assert meeting_type.host.email == "owner@demo.afspraak.test"


def test_running_setup_again_keeps_one_demo_meeting_type(tmp_path):
    create_demo_organization(tmp_path / "demo-login.txt")
    first = create_demo_meeting_type()
    again = create_demo_meeting_type()

    assert again.pk == first.pk
    with organization_context(first.organization):
        assert MeetingType.objects.count() == 1
