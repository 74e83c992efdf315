"""The audit log reads as sentences: people by name, old → new, the invitee for their own acts."""

import pytest
from django.urls import reverse

from afspraak.audit.context import AuditContext
from afspraak.audit.trail import record
from afspraak.bookings.tests.url_matrix import members_booking
from afspraak.tenancy.membership import change_member_role
from afspraak.tenancy.roles import Role
from afspraak.testing.access import member_access

pytestmark = pytest.mark.django_db


def shown(client, **filters) -> str:
    response = client.get("/o/alpha/audit/", filters)
    assert response.status_code == 200
    return response.content.decode()


def test_a_role_change_names_both_people_and_the_old_and_new_role(client, tenants):
    owner, member = tenants.owner.user, tenants.member.user
    change_member_role(
        member_access(tenants.owner, reauthenticated=True), tenants.member, Role.ADMIN
    )
    client.force_login(tenants.auditor.user)

    page = shown(client)

    members = reverse("tenancy:members", args=["alpha"])
    assert (
        f'<a href="{members}">{owner.full_name}</a> changed '
        f'<a href="{members}">{member.full_name}</a>&#x27;s role from member to admin'
    ) in page


def test_what_an_invitee_did_through_their_link_names_them_by_a_masked_address(client, tenants):
    booking = members_booking(tenants)
    with_link = AuditContext(ip_address="198.51.100.4", user_agent="Firefox")
    record("bookings.booking.cancelled", context=with_link, organization=tenants.a, target=booking)
    client.force_login(tenants.owner.user)

    page = shown(client, category="bookings")

    address = booking.invitee.email
    masked = f"{address[0]}…@{address.split('@')[1]}"
    assert f"the invitee {masked} cancelled" in page
    assert address not in page
    assert reverse("dashboard:booking", args=["alpha", booking.public_id]) in page
    assert "Afspraak (automatic)" not in page


def test_an_event_without_a_sentence_reads_as_its_catalogue_description(client, tenants):
    record("crypto.org_keysets.created", organization=tenants.a)
    client.force_login(tenants.owner.user)

    page = shown(client, category="security")

    assert (
        "Afspraak (automatic) — An organization&#x27;s data and index keysets were created" in page
    )


def test_the_category_filter_keeps_only_its_events(client, tenants):
    record("accounts.login.succeeded", actor=tenants.admin.user, organization=tenants.a)
    record("tenancy.security.updated", actor=tenants.owner.user, organization=tenants.a)
    client.force_login(tenants.owner.user)

    assert "logged in" in shown(client, category="authentication")
    assert "logged in" not in shown(client, category="settings")
    assert "changed the security settings" in shown(client, category="settings")
