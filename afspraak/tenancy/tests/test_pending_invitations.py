"""Invitations opened before sign-up: accepted at login for a verified invited address
only; otherwise shown on the home page with Accept and "Not now"."""

import pytest
from allauth.account.models import EmailAddress

from afspraak.tenancy.access import memberships_of
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.errors import InvitationRefusedError
from afspraak.tenancy.invitations import invite_member, preview_invitation_by_id
from afspraak.tenancy.models import InvitationStatus
from afspraak.tenancy.pending_invitations import SESSION_KEY
from afspraak.tenancy.roles import Role
from afspraak.testing.access import member_access
from afspraak.testing.audit import events
from afspraak.testing.factories import UserFactory

pytestmark = pytest.mark.django_db

INVITEE = "new.person@example.test"


@pytest.fixture
def opened(client, tenants):
    """An invitation to INVITEE as admin, its link opened by a logged-out visitor."""
    invitation, token = invite_member(member_access(tenants.owner), INVITEE, Role.ADMIN)
    assert client.get(f"/invitations/{token}/").status_code == 200
    assert client.session[SESSION_KEY] == [f"{tenants.a.public_id}/{invitation.public_id}"]
    # Only public ids are kept: the session table holds no working link.
    assert token.partition(".")[2] not in str(dict(client.session))
    return invitation


def test_logging_in_with_the_verified_invited_address_joins(client, tenants, opened):
    user = UserFactory.create(email=INVITEE)
    client.force_login(user)
    (membership,) = memberships_of(user)
    assert (membership.organization, membership.role) == (tenants.a, Role.ADMIN)
    assert len(events("tenancy.invitation.accepted", organization=tenants.a)) == 1
    home = client.get("/")
    assert home.context["current"].organization == tenants.a
    assert home.context["pending_invitations"] == []


def test_an_unverified_address_never_joins_and_the_invitation_waits(client, tenants, opened):
    user = UserFactory.create(email=INVITEE, verified_email=False)
    EmailAddress.objects.create(user=user, email=INVITEE, verified=False, primary=True)
    client.force_login(user)
    assert memberships_of(user) == []
    (pending,) = client.get("/").context["pending_invitations"]
    assert pending.preview.role_label == "Admin"
    refused = client.post(
        "/invitations/pending/", {"invitation": pending.key, "decision": "accept"}
    )
    assert refused.status_code == 403
    assert memberships_of(user) == []
    EmailAddress.objects.filter(user=user).update(verified=True)
    accepted = client.post(
        "/invitations/pending/", {"invitation": pending.key, "decision": "accept"}
    )
    assert accepted.status_code == 302
    assert [m.organization for m in memberships_of(user)] == [tenants.a]


def test_another_address_does_not_join_and_not_now_puts_it_aside(client, tenants, opened):
    someone_else = UserFactory.create(email="someone.else@example.test")
    client.force_login(someone_else)
    assert memberships_of(someone_else) == []
    (pending,) = client.get("/").context["pending_invitations"]
    put_aside = client.post(
        "/invitations/pending/", {"invitation": pending.key, "decision": "later"}
    )
    assert put_aside.status_code == 302
    assert client.get("/").context["pending_invitations"] == []


@pytest.mark.parametrize(
    "data",
    [
        {"invitation": "org_x/inv_y", "decision": "accept"},
        {"invitation": "", "decision": "accept"},
        {"decision": "maybe"},
    ],
)
def test_an_invitation_not_waiting_in_the_session_is_refused(client, tenants, opened, data):
    client.force_login(UserFactory.create(email="someone.else@example.test"))
    assert client.post("/invitations/pending/", data).status_code == 400


def _waiting_for(client, *, verified_later: bool):
    """Log in the invited person before their address is verified, so the invitation waits."""
    user = UserFactory.create(email=INVITEE, verified_email=False)
    EmailAddress.objects.create(user=user, email=INVITEE, verified=False, primary=True)
    client.force_login(user)
    if verified_later:
        EmailAddress.objects.filter(user=user).update(verified=True)
    (pending,) = client.get("/").context["pending_invitations"]
    return user, pending


def test_the_invited_person_declines_and_the_inviter_sees_it(client, tenants, opened):
    user, pending = _waiting_for(client, verified_later=True)
    declined = client.post(
        "/invitations/pending/", {"invitation": pending.key, "decision": "decline"}
    )
    assert declined.status_code == 302
    assert memberships_of(user) == []
    assert client.get("/").context["pending_invitations"] == []
    with organization_context(tenants.a):
        opened.refresh_from_db()
    assert opened.status == InvitationStatus.DECLINED
    (event,) = events("tenancy.invitation.declined", organization=tenants.a)
    assert event.actor == user
    client.force_login(tenants.owner.user)
    members = client.get(f"/o/{tenants.a.slug}/members/")
    assert [i.public_id for i in members.context["declined_invitations"]] == [opened.public_id]
    assert members.context["invitations"] == []
    assert "declined to join as admin" in members.content.decode()


def test_a_declined_invitation_link_no_longer_works(client, tenants, opened):
    _, pending = _waiting_for(client, verified_later=True)
    client.post("/invitations/pending/", {"invitation": pending.key, "decision": "decline"})
    with pytest.raises(InvitationRefusedError) as refusal:
        preview_invitation_by_id(tenants.a.public_id, opened.public_id)
    assert (refusal.value.code, refusal.value.status) == ("declined", 410)
    # The address can be invited again.
    invite_member(member_access(tenants.owner), INVITEE, Role.MEMBER)


def test_only_the_invited_address_may_decline(client, tenants, opened):
    _, pending = _waiting_for(client, verified_later=False)
    refused = client.post(
        "/invitations/pending/", {"invitation": pending.key, "decision": "decline"}
    )
    assert refused.status_code == 403
    with organization_context(tenants.a):
        opened.refresh_from_db()
    assert opened.status == InvitationStatus.PENDING
    assert events("tenancy.invitation.declined", organization=tenants.a) == []
    # It stays waiting: verifying the address later still lets them choose.
    assert len(client.get("/").context["pending_invitations"]) == 1
