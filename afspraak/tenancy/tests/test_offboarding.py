"""Offboarding (control O1): removal and deactivation cut access on the very next request."""

import pytest
from allauth.account.models import EmailAddress
from allauth.usersessions.models import UserSession
from django.core.management import CommandError, call_command
from django_scopes import scopes_disabled

from afspraak.accounts.models import User
from afspraak.accounts.tests.signin import reauthenticate
from afspraak.audit.context import AuditContext
from afspraak.tenancy.api_tokens import create_api_token
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.invitations import invite_member
from afspraak.tenancy.membership import remove_member
from afspraak.tenancy.models import ApiToken, ApiTokenScope, Invitation
from afspraak.tenancy.offboarding import (
    deactivate_user,
)
from afspraak.tenancy.roles import Role
from afspraak.testing.access import member_access, member_of
from afspraak.testing.audit import events, only_event
from afspraak.testing.factories import InvitationFactory, MembershipFactory
from conftest import HTTPSClient


def signed_in(user) -> HTTPSClient:
    """Return a client with a session of ``user``, as a browser holding its cookie."""
    browser = HTTPSClient()
    browser.force_login(user)
    assert (
        browser.get("/o/beta/" if user.email == "owner@b.test" else "/o/alpha/").status_code == 200
    )
    return browser


def is_pending(invitation: Invitation) -> bool:
    with organization_context(invitation.organization):
        return Invitation.objects.get(pk=invitation.pk).is_pending


@pytest.fixture
def member_in_both(tenants):
    """The member of A, who is also an admin of B."""
    MembershipFactory.create(organization=tenants.b, user=tenants.member.user, role=Role.ADMIN)
    return tenants.member.user


def test_removed_members_session_is_refused_on_the_next_request(client, tenants, member_in_both):
    laptop, phone = signed_in(member_in_both), signed_in(member_in_both)
    client.force_login(tenants.admin.user)
    reauthenticate(client)

    response = client.post(f"/o/alpha/members/{tenants.member.public_id}/remove/")
    assert response.status_code == 302

    for browser in (laptop, phone):
        refused = browser.get("/o/alpha/")
        assert refused.status_code == 302
        assert refused["Location"].startswith("/accounts/login/")
        # Every session ended, not only access to A: B's pages also need a new login.
        assert browser.get("/o/beta/").status_code == 302
    assert not UserSession.objects.filter(user=member_in_both).exists()
    # The admin who removed them is still signed in.
    assert client.get("/o/alpha/members/").status_code == 200
    event = only_event("tenancy.offboarding.sessions_ended")
    assert event.actor == tenants.admin.user
    assert event.data == {"count": 2, "trigger": "member_removed"}


def test_removal_revokes_the_pending_invitations_the_member_sent(tenants):
    sent, _ = invite_member(
        member_access(tenants.admin, reauthenticated=True),
        email="friend@example.test",
        role="member",
    )
    owner_sent, _ = invite_member(
        member_access(tenants.owner, reauthenticated=True),
        email="other@example.test",
        role="member",
    )
    remove_member(member_access(tenants.owner, reauthenticated=True), tenants.admin)
    assert not is_pending(sent)
    assert is_pending(owner_sent)
    event = only_event("tenancy.invitation.revoked")
    assert event.target_id == sent.public_id
    assert event.data == {"trigger": "member_removed", "user": tenants.admin.user.public_id}


def test_removal_revokes_the_pending_invitations_addressed_to_the_member(tenants):
    EmailAddress.objects.create(user=tenants.member.user, email="Second@Example.test")
    to_login = InvitationFactory.create(organization=tenants.a, email="MEMBER@a.test")
    to_second = InvitationFactory.create(organization=tenants.a, email="second@example.test")
    to_someone_else = InvitationFactory.create(organization=tenants.a, email="else@example.test")

    remove_member(member_access(tenants.admin, reauthenticated=True), tenants.member)

    assert not is_pending(to_login)
    assert not is_pending(to_second)
    assert is_pending(to_someone_else)
    revoked = {event.target_id for event in events("tenancy.invitation.revoked")}
    assert revoked == {to_login.public_id, to_second.public_id}


def test_deactivation_cuts_every_access_and_audits_each_step(tenants, member_in_both):
    browser = signed_in(member_in_both)
    invitation, _ = invite_member(
        member_of(tenants.b, member_in_both, reauthenticated=True),
        email="friend@example.test",
        role="member",
    )

    summary = deactivate_user(AuditContext.system(), member_in_both, reason="left the company")

    member_in_both.refresh_from_db()
    assert member_in_both.is_active is False
    assert browser.get("/o/alpha/").status_code == 302
    assert browser.get("/o/beta/").status_code == 302
    assert not is_pending(invitation)
    assert (summary.organizations, summary.sessions, summary.invitations) == (2, 1, 1)
    deactivated = only_event("tenancy.offboarding.user_deactivated")
    assert deactivated.target_id == member_in_both.public_id
    assert deactivated.data == {"reason": "left the company", "was_active": True}
    assert only_event("tenancy.offboarding.sessions_ended").data["count"] == 1
    assert only_event("tenancy.invitation.revoked").organization == tenants.b


def bearer(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_deactivation_revokes_the_users_api_tokens_in_every_organization(
    client, tenants, member_in_both
):
    in_a, secret_a = create_api_token(
        member_access(tenants.member, reauthenticated=True), name="Sync", scope=ApiTokenScope.ROLE
    )
    in_b, secret_b = create_api_token(
        member_of(tenants.b, member_in_both, reauthenticated=True),
        name="Reports",
        scope=ApiTokenScope.READ,
    )
    others = create_api_token(
        member_access(tenants.admin, reauthenticated=True), name="CI", scope=ApiTokenScope.READ
    )[0]
    assert client.get("/api/v1/organizations/beta/members", **bearer(secret_b)).status_code == 200

    deactivate_user(AuditContext.system(), member_in_both, reason="left the company")

    # The test reads both organizations' tokens at once, as no request may.
    with scopes_disabled():
        assert ApiToken.objects.get(pk=in_a.pk).revoked_at is not None
        assert ApiToken.objects.get(pk=in_b.pk).revoked_at is not None
        assert ApiToken.objects.get(pk=others.pk).revoked_at is None
    revoked = {
        (event.organization, event.target_id, event.data["trigger"])
        for event in events("tenancy.api_token.revoked")
    }
    assert revoked == {
        (tenants.a, in_a.public_id, "user_deactivated"),
        (tenants.b, in_b.public_id, "user_deactivated"),
    }
    for slug, secret in (("alpha", secret_a), ("beta", secret_b)):
        refused = client.get(f"/api/v1/organizations/{slug}/members", **bearer(secret))
        assert refused.status_code == 401


def test_deactivated_user_cannot_log_in_again(client, tenants):
    deactivate_user(AuditContext.system(), tenants.member.user, reason="contract ended")
    response = client.post(
        "/accounts/login/",
        {"login": "member@a.test", "password": "quiet lanterns drift over amber canals"},
    )
    assert "_auth_user_id" not in client.session
    assert response.status_code in (200, 302)
    assert client.get("/o/alpha/").status_code == 302


def test_offboard_user_command_deactivates_and_reports(tenants, capsys):
    browser = signed_in(tenants.admin.user)
    call_command("offboard-user", "Admin@A.test", reason="left the company")
    assert User.objects.get(pk=tenants.admin.user.pk).is_active is False
    assert browser.get("/o/alpha/").status_code == 302
    output = capsys.readouterr().out
    assert "1 session(s) ended" in output
    assert only_event("tenancy.offboarding.user_deactivated").actor is None


def test_offboard_user_command_refuses_an_unknown_address(db):
    with pytest.raises(CommandError, match="No user has the e-mail address") as refused:
        call_command("offboard-user", "nobody@example.test", reason="left")
    # Django's command line turns a CommandError into this exit status.
    assert refused.value.returncode == 1
    assert not events("tenancy.offboarding.user_deactivated")


def test_offboard_user_command_needs_a_reason(tenants):
    with pytest.raises(CommandError, match="reason"):
        call_command("offboard-user", "member@a.test", reason="   ")
    with pytest.raises(CommandError, match="required: --reason"):
        call_command("offboard-user", "member@a.test")
    assert User.objects.get(pk=tenants.member.user.pk).is_active is True


def test_offboard_user_command_refuses_personal_data_in_the_reason(tenants):
    with pytest.raises(CommandError, match="must not contain an e-mail address"):
        call_command("offboard-user", "member@a.test", reason="reported by boss@a.test")
    assert User.objects.get(pk=tenants.member.user.pk).is_active is True
    assert not events("tenancy.offboarding.user_deactivated")
