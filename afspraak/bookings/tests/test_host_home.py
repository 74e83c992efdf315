"""The host's home page (/): bookings needing them with counts, the setup checklist,
booking links, the current organization; and searching bookings by invitee name."""

from datetime import UTC, datetime, timedelta

import pytest
from allauth.mfa.models import Authenticator

from afspraak.audit.context import AuditContext
from afspraak.bookings import host_home
from afspraak.scheduling.models import Visibility
from afspraak.tenancy.access import AccessDeniedError
from afspraak.tenancy.roles import Role
from afspraak.testing.clock import CLOCK_START
from afspraak.testing.factories import (
    MeetingTypeFactory,
    MembershipFactory,
    OrganizationFactory,
    ScheduleFactory,
    UserFactory,
    book,
)

pytestmark = pytest.mark.django_db

NOW = CLOCK_START
MONDAY_0900 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def _steps(response):
    return {step.title: step.done for step in response.context["home"].checklist}


def test_a_new_host_sees_what_is_left_to_set_up(client, tenants):
    tenants.member.user.full_name = ""
    tenants.member.user.save()
    client.force_login(tenants.member.user)
    response = client.get("/")
    assert response.status_code == 200
    assert _steps(response) == {
        "Add your name": False,
        "Set your working hours": False,
        "Create a meeting type": False,
        "Turn on two-factor authentication": False,
        "Share your booking link": False,
    }
    page = response.content.decode()
    assert "Get ready to take bookings" in page
    assert "/o/alpha/schedules/new/" in page


def test_the_home_page_shows_upcoming_and_pending_bookings_with_counts_and_links(
    client, clock, tenants
):
    host = tenants.member.user
    schedule = ScheduleFactory.create(organization=tenants.a, host=host)
    plain = MeetingTypeFactory.create(schedule=schedule, name="Intake", slug="intake")
    approval = MeetingTypeFactory.create(schedule=schedule, requires_approval=True, slug="ask")
    MeetingTypeFactory.create(schedule=schedule, visibility=Visibility.DISABLED, slug="old")
    others = MeetingTypeFactory.create(
        schedule=ScheduleFactory.create(organization=tenants.a, host=tenants.owner.user)
    )
    starts = [MONDAY_0900 + day * 24 * HOUR for day in range(5)] + [
        MONDAY_0900 + HOUR,
        MONDAY_0900 + 25 * HOUR,
    ]
    for n, start in enumerate(sorted(starts)):
        book(plain, start, now=NOW, n=n, name=f"Invitee {n}")
    book(approval, MONDAY_0900 + 3 * HOUR, now=NOW, n=9, name="Awaiting Person")
    book(others, MONDAY_0900, now=NOW, n=10, name="Not Yours")
    Authenticator.objects.create(user=host, type=Authenticator.Type.TOTP, data={})
    client.force_login(host)
    response = client.get("/")
    home = response.context["home"]
    assert (home.upcoming_count, home.pending_count) == (7, 1)
    assert [row["booking"].invitee_name for row in home.upcoming] == [
        f"Invitee {n}" for n in range(5)
    ]
    assert all(_steps(response).values())
    page = response.content.decode()
    assert "Get ready to take bookings" not in page
    assert "Awaiting Person" in page
    assert "Not Yours" not in page
    assert 'value="https://testserver/alpha/intake/"' in page
    assert "https://testserver/alpha/old/" not in page
    assert 'data-copy="link-' in page
    assert "js/copy-link." in page


def test_the_home_page_shows_the_current_organization_of_several(client, tenants):
    beta = OrganizationFactory.create(name="Beta Bakery", slug="beta-bakery")
    MembershipFactory.create(organization=beta, user=tenants.member.user, role=Role.MEMBER)
    client.force_login(tenants.member.user)
    response = client.get("/")
    assert response.context["home"] is None
    assert "Make an organization current to see its bookings here." in response.content.decode()
    switched = client.post("/o/beta-bakery/switch/", follow=True)
    assert "Beta Bakery is now your current organization" in switched.content.decode()
    assert client.get("/").context["current"].organization == beta


def test_an_organization_that_refuses_the_session_shows_no_bookings(client, tenants, monkeypatch):
    def refuse(request, organization, **kwargs):
        raise AccessDeniedError(
            "Log in again.",
            organization=organization,
            context=AuditContext(),
            reason="session_too_old",
        )

    monkeypatch.setattr(host_home, "request_access_in_context", refuse)
    client.force_login(tenants.member.user)
    response = client.get("/")
    assert response.status_code == 200
    assert response.context["home"] is None
    assert "Alpha" in response.content.decode()


def test_an_auditor_gets_no_host_home(client, tenants):
    auditor = UserFactory.create()
    MembershipFactory.create(organization=tenants.a, user=auditor, role=Role.AUDITOR)
    client.force_login(auditor)
    assert client.get("/").context["home"] is None


def test_bookings_are_found_by_part_of_the_invitees_name(client, tenants):
    schedule = ScheduleFactory.create(organization=tenants.a, host=tenants.member.user)
    meeting_type = MeetingTypeFactory.create(schedule=schedule)
    ada = book(meeting_type, MONDAY_0900, now=NOW, n=1, name="Ada Lovelace")
    book(meeting_type, MONDAY_0900 + HOUR, now=NOW, n=2, name="Grace Hopper")
    client.force_login(tenants.member.user)
    for typed in ("love", "ADA LOVE", "  lovelace "):
        response = client.get("/o/alpha/bookings/", {"tab": "all", "name": typed})
        assert [row["booking"] for row in response.context["rows"]] == [ada]
    nobody = client.get("/o/alpha/bookings/", {"tab": "all", "name": "Turing"})
    assert "No bookings here for that search" in nobody.content.decode()
    assert client.get("/o/alpha/bookings/", {"name": "x"}).status_code == 400
