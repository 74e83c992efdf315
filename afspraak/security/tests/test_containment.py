"""Containment from an incident acts for real: the person's next request already feels it."""

import pytest
from django.urls import reverse

from afspraak.audit.models import IncidentStatus
from afspraak.audit.outbox import deliver_due
from afspraak.crypto import keysets
from afspraak.security.models import MemberSuspension
from afspraak.security.tests.reviewers import reviewer_client
from afspraak.security.tests.url_matrix import an_incident
from afspraak.tenancy.api_tokens import create_api_token
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.models import ApiTokenScope
from afspraak.testing.access import member_access
from afspraak.testing.audit import assert_audited, events
from conftest import HTTPSClient as Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    return reviewer_client(client)


@pytest.fixture
def member_client(tenants):
    client = Client()
    client.force_login(tenants.member.user)
    return client


@pytest.fixture
def incident(tenants):
    return an_incident(tenants)[0]["incident_id"]


def bookings_page(tenants) -> str:
    """A page the member (a host) may open: their bookings."""
    return reverse("dashboard:bookings", kwargs={"org_slug": tenants.a.slug})


def notes_of(incident_id: str) -> list[str]:
    from afspraak.audit.models import Incident

    return [note.text for note in Incident.objects.get(public_id=incident_id).notes.all()]


def test_ending_sessions_logs_the_person_out_on_their_next_request(
    staff_client, member_client, tenants, incident
):
    user = tenants.member.user
    assert member_client.get(bookings_page(tenants)).status_code == 200

    confirm = staff_client.get(
        reverse("security:end_sessions", args=[incident]), {"user": user.public_id}
    )
    assert confirm.status_code == 200
    assert "End every session of member@a.test?" in confirm.content.decode()
    assert member_client.get(bookings_page(tenants)).status_code == 200  # asking did nothing

    response = staff_client.post(
        reverse("security:end_sessions", args=[incident]), {"user": user.public_id}
    )

    assert response["Location"] == reverse("security:incident", args=[incident])
    after = member_client.get(bookings_page(tenants))
    assert after.status_code == 302
    assert after["Location"].startswith(reverse("account_login"))
    assert_audited(
        "security.containment.sessions_ended",
        actor=staff_client.staff,
        data={"user": user.public_id, "count": 1},
    )
    assert_audited("tenancy.offboarding.sessions_ended", data={"trigger": "incident"})
    assert f"Containment: ended 1 session(s) of {user.public_id}." in notes_of(incident)


def test_a_suspended_member_is_refused_from_their_next_request_until_lifted(
    staff_client, member_client, tenants, incident
):
    user = tenants.member.user
    fields = {"user": user.public_id, "organization": tenants.a.public_id}
    assert member_client.get(bookings_page(tenants)).status_code == 200

    staff_client.post(reverse("security:suspend_member", args=[incident]), fields)

    refused = member_client.get(bookings_page(tenants))
    assert refused.status_code == 403
    assert "suspended while a security incident" in refused.content.decode()
    assert_audited(
        "security.member.suspended", organization=tenants.a, data={"user": user.public_id}
    )
    assert_audited("tenancy.access.denied", actor=user, data={"reason": "suspended"})
    # Everyone else's place here is untouched.
    colleague = Client()
    colleague.force_login(tenants.admin.user)
    assert colleague.get(bookings_page(tenants)).status_code == 200

    suspension = MemberSuspension.objects.get(user=user, lifted_at__isnull=True)
    staff_client.post(reverse("security:lift_suspension", args=[incident, suspension.public_id]))

    assert member_client.get(bookings_page(tenants)).status_code == 200
    assert_audited("security.member.suspension_lifted", data={"suspension": suspension.public_id})
    assert len(notes_of(incident)) == 2  # suspended, lifted


def test_a_suspended_member_is_refused_every_page_and_api_call_of_the_organization(
    staff_client, tenants, incident
):
    admin = tenants.admin.user
    client = Client()
    client.force_login(admin)
    slug = tenants.a.slug
    overview = reverse("tenancy:home", args=[slug])  # names no permission
    members_page = reverse("tenancy:members", args=[slug])  # names can_view_members
    leave_page = reverse("tenancy:leave", args=[slug])
    members_api = reverse("api:organization_members", args=[slug])
    assert [client.get(url).status_code for url in (overview, members_page, members_api)] == [
        200,
        200,
        200,
    ]

    staff_client.post(
        reverse("security:suspend_member", args=[incident]),
        {"user": admin.public_id, "organization": tenants.a.public_id},
    )

    for url in (overview, members_page, leave_page):
        refused = client.get(url)
        assert refused.status_code == 403, url
        assert "suspended while a security incident" in refused.content.decode()
    assert client.post(leave_page).status_code == 403
    api = client.get(members_api)
    assert api.status_code == 403
    assert "suspended while a security incident" in api.json()["detail"]
    refusals = events("tenancy.access.denied")
    assert [(e.actor_id, e.data["reason"], e.data.get("permission")) for e in refusals] == [
        (admin.pk, "suspended", None),
        (admin.pk, "suspended", "can_view_members"),
        (admin.pk, "suspended", None),
        (admin.pk, "suspended", None),
        (admin.pk, "suspended", "can_view_members"),
    ]
    assert all(e.organization_id == tenants.a.pk for e in refusals)


def test_suspending_twice_is_a_conflict(staff_client, tenants, incident):
    fields = {"user": tenants.member.user.public_id, "organization": tenants.a.public_id}
    staff_client.post(reverse("security:suspend_member", args=[incident]), fields)

    again = staff_client.post(reverse("security:suspend_member", args=[incident]), fields)

    assert again.status_code == 409
    assert MemberSuspension.objects.count() == 1


def test_suspending_someone_who_is_not_a_member_there_is_a_400(staff_client, tenants, incident):
    fields = {"user": tenants.outsider.user.public_id, "organization": tenants.a.public_id}

    response = staff_client.post(reverse("security:suspend_member", args=[incident]), fields)

    assert response.status_code == 400
    assert "not a member of that organization" in response.content.decode()
    assert not MemberSuspension.objects.exists()


def test_rotating_keys_gives_the_organization_new_keys_and_its_data_still_reads(
    staff_client, member_client, tenants, incident
):
    def keys():
        with organization_context(tenants.a):
            return keysets.keys_for_reading(tenants.a.pk, reload=True)

    before = keys()

    staff_client.post(
        reverse("security:rotate_keys", args=[incident]), {"organization": tenants.a.public_id}
    )
    deliver_due()

    after = keys()
    assert after.data_primary_key_id != before.data_primary_key_id
    assert after.index.primary_id() != before.index.primary_id()
    assert_audited("security.keys.rotation_requested", organization=tenants.a)
    assert_audited("crypto.org_key.rotated", organization=tenants.a)
    assert_audited("crypto.org_index_key.rotated", organization=tenants.a)
    assert member_client.get(bookings_page(tenants)).status_code == 200


def test_an_unknown_account_is_a_400_with_a_clear_message(staff_client, incident):
    response = staff_client.get(
        reverse("security:end_sessions", args=[incident]), {"user": "usr_nobody"}
    )

    assert response.status_code == 400
    assert "No account has that id" in response.content.decode()


def test_a_closed_incident_takes_no_more_containment(staff_client, tenants, incident):
    from afspraak.audit.models import Incident

    Incident.objects.filter(public_id=incident).update(status=IncidentStatus.CLOSED)

    response = staff_client.post(
        reverse("security:end_sessions", args=[incident]),
        {"user": tenants.member.user.public_id},
    )

    assert response.status_code == 409


def test_the_incident_page_shows_the_timeline_and_the_containment_forms(
    staff_client, tenants, incident, django_assert_max_num_queries
):
    # Five of them ask the staff records whether the reviewer is in good standing.
    with django_assert_max_num_queries(20):
        response = staff_client.get(reverse("security:incident", args=[incident]))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Backups failing" in page
    assert reverse("security:suspend_member", args=[incident]) in page


def test_revoking_a_members_api_tokens_refuses_their_next_call(staff_client, tenants, incident):
    access = member_access(tenants.admin, reauthenticated=True)
    token, secret = create_api_token(access, name="Sync", scope=ApiTokenScope.ROLE)
    api = Client()
    members = "/api/v1/organizations/alpha/members"
    authorization = f"Bearer {secret}"
    assert api.get(members, secure=True, HTTP_AUTHORIZATION=authorization).status_code == 200
    fields = {"user": tenants.admin.user.public_id, "organization": tenants.a.public_id}

    confirm = staff_client.get(reverse("security:revoke_tokens", args=[incident]), fields)
    done = staff_client.post(reverse("security:revoke_tokens", args=[incident]), fields)

    assert "Revoke their tokens" in confirm.content.decode()
    assert done.status_code == 302
    assert api.get(members, secure=True, HTTP_AUTHORIZATION=authorization).status_code == 401
    assert_audited(
        "tenancy.api_token.revoked",
        actor=staff_client.staff,
        organization=tenants.a,
        data={"credential": token.public_id, "trigger": "incident"},
    )
    assert_audited(
        "security.containment.api_tokens_revoked",
        actor=staff_client.staff,
        organization=tenants.a,
        data={"user": tenants.admin.user.public_id, "count": 1},
    )
    assert f"revoked 1 API token(s) of {tenants.admin.user.public_id}" in notes_of(incident)[-1]
