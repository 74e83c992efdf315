"""Every destructive action asks first: GET on its URL shows what will happen and a danger
button that POSTs to the same URL; the GET itself never acts (issue 12)."""

import re

import pytest
from django.urls import reverse

from afspraak.audit.models import AuditEvent
from afspraak.bookings.tests.url_matrix import booking_of, members_booking
from afspraak.scheduling.models import MeetingType
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.roles import Role
from afspraak.tenancy.tests.test_url_matrix import MATRIX, VISITORS
from afspraak.testing.factories import MeetingTypeFactory, MembershipFactory, ScheduleFactory

DESTRUCTIVE = (
    "tenancy:leave",
    "tenancy:member_remove",
    "tenancy:invitation_revoke",
    "scheduling:schedule_delete",
    "scheduling:override_remove",
    "scheduling:meeting_type_delete",
    "dashboard:booking_cancel",
    "dashboard:booking_decline",
)


def _danger_form_posting_to(html: str, url: str) -> bool:
    form = re.search(r'<form method="post" action="([^"]*)">(.*?)</form>', html, re.S)
    return form is not None and form.group(1) == url and 'class="danger"' in form.group(2)


@pytest.mark.parametrize("visitor", VISITORS)
@pytest.mark.parametrize("name", DESTRUCTIVE)
def test_get_asks_for_confirmation_as_the_matrix_allows_and_never_acts(
    client, tenants, name, visitor
):
    method, allowed, build = MATRIX[name]
    assert method == "post"
    # A second owner, so that the owner is offered to leave.
    MembershipFactory.create(organization=tenants.a, role=Role.OWNER)
    if visitor == "outsider":
        client.force_login(tenants.outsider.user)
    elif visitor != "anonymous":
        client.force_login(tenants.of_role(visitor).user)
    kwargs, _ = build(tenants)
    url = reverse(name, kwargs={"org_slug": tenants.a.slug, **kwargs})
    events_before = AuditEvent.objects.count()

    response = client.get(url)

    if visitor == "anonymous":
        assert response.status_code == 302
    elif visitor == "outsider":
        assert response.status_code == 404
    elif Role(visitor) in allowed:
        assert response.status_code == 200
        assert _danger_form_posting_to(response.content.decode(), url)
        assert AuditEvent.objects.count() == events_before
    else:
        assert response.status_code == 403


def test_the_last_owner_is_told_why_they_cannot_leave_instead_of_offered_it(client, tenants):
    client.force_login(tenants.owner.user)
    home = client.get("/o/alpha/").content.decode()
    assert "/o/alpha/leave/" not in home
    assert "You are the last owner of Alpha Clinic" in home

    confirmation = client.get("/o/alpha/leave/")
    assert confirmation.status_code == 200
    html = confirmation.content.decode()
    assert "You are the last owner of Alpha Clinic" in html
    assert 'class="danger"' not in html


def test_members_are_offered_to_leave_through_the_confirmation_page(client, tenants):
    client.force_login(tenants.member.user)
    home = client.get("/o/alpha/").content.decode()
    assert 'href="/o/alpha/leave/"' in home
    assert "last owner" not in home


def test_a_schedule_in_use_says_why_it_cannot_be_deleted_and_offers_no_button(client, tenants):
    meeting_type = MeetingTypeFactory.create(
        name="Intake call",
        schedule=ScheduleFactory.create(organization=tenants.a, host=tenants.member.user),
    )
    client.force_login(tenants.member.user)
    html = client.get(f"/o/alpha/schedules/{meeting_type.schedule.public_id}/delete/")
    assert "Used by Intake call: give it another schedule" in html.content.decode()
    assert 'class="danger"' not in html.content.decode()


def test_a_meeting_type_with_bookings_asks_to_disable_and_one_without_to_delete(client, tenants):
    booked = booking_of(tenants.a, tenants.member.user).meeting_type
    unbooked = MeetingTypeFactory.create(schedule=booked.schedule)
    client.force_login(tenants.member.user)
    for meeting_type, button in (
        (booked, "Disable meeting type"),
        (unbooked, "Delete meeting type"),
    ):
        html = client.get(f"/o/alpha/meeting-types/{meeting_type.public_id}/delete/")
        assert f'class="danger">{button}</button>' in html.content.decode()
    with organization_context(tenants.a):
        assert MeetingType.objects.count() == 2


def test_the_detail_page_links_cancel_to_its_confirmation_which_keeps_a_bad_message(
    client, tenants
):
    booking = members_booking(tenants)
    client.force_login(tenants.member.user)
    cancel_url = f"/o/alpha/bookings/{booking.public_id}/cancel/"
    detail = client.get(f"/o/alpha/bookings/{booking.public_id}/").content.decode()
    assert f'href="{cancel_url}"' in detail
    assert 'action="' + cancel_url not in detail

    response = client.post(cancel_url, {"reason": "x" * 5000})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Cancel this booking?" in html
    assert 'class="errorlist' in html
