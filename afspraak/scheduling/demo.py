"""Demo scheduling data: the demo owner hosts a bookable intro call, so a new user can book."""

from django.db import transaction

from afspraak.audit.context import AuditContext
from afspraak.scheduling.meeting_types import create_meeting_type
from afspraak.scheduling.models import Location, MeetingType, Visibility
from afspraak.scheduling.schedules import create_schedule
from afspraak.tenancy.access import access_for_system
from afspraak.tenancy.demo import DEMO_ORGANIZATION_SLUG, DEMO_OWNER_EMAIL
from afspraak.tenancy.models import Membership, Organization

DEMO_MEETING_TYPE_SLUG = "intro"


def create_demo_meeting_type() -> MeetingType:
    """Give the demo owner office hours and a public intro call, unless they have them."""
    organization = Organization.objects.get(slug=DEMO_ORGANIZATION_SLUG)
    access = access_for_system(organization, AuditContext.system())
    with transaction.atomic(), access.scope():
        existing = MeetingType.objects.filter(slug=DEMO_MEETING_TYPE_SLUG).first()
        if existing is not None:
            return existing
        host = Membership.objects.get(user__email=DEMO_OWNER_EMAIL).user
        schedule = create_schedule(
            access,
            host=host,
            name="Office hours",
            time_zone="Europe/Amsterdam",
            weekly_hours={str(day): [["09:00", "12:00"], ["13:00", "17:00"]] for day in range(5)},
        )
        return create_meeting_type(
            access,
            host=host,
            values={
                "schedule": schedule,
                "name": "Intro call",
                "slug": DEMO_MEETING_TYPE_SLUG,
                "description": "A first 30-minute conversation by video.",
                "duration_minutes": 30,
                "location_kind": Location.VIDEO,
                "visibility": Visibility.PUBLIC,
                "minimum_notice_minutes": 60,
                "horizon_days": 60,
                "questions": [
                    {
                        "key": "topic",
                        "label": "What would you like to talk about?",
                        "kind": "long_text",
                        "required": False,
                    }
                ],
            },
        )
