"""Invitations: sent by admins, single-use, 7 days, only for the invited address."""

from datetime import timedelta

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from afspraak.audit.context import AuditContext
from afspraak.audit.models import OutboxMessage
from afspraak.audit.outbox import deliver_due
from afspraak.tenancy.access import AccessDeniedError
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.errors import (
    InvitationRefusedError,
    RuleViolationError,
    TenancyError,
)
from afspraak.tenancy.invitations import (
    INVITATION_EMAIL_TOPIC,
    accept_invitation,
    hash_token,
    invite_member,
    revoke_invitation,
)
from afspraak.tenancy.models import Invitation, Membership
from afspraak.testing.access import member_access, member_of
from afspraak.testing.audit import events, only_event
from afspraak.testing.factories import UserFactory

INVITEE = "new.person@example.test"


@pytest.fixture
def invited(tenants, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invitation, token = invite_member(
            member_access(tenants.admin, reauthenticated=True),
            email="New.Person@Example.test",
            role="member",
        )
    return invitation, token


@pytest.fixture
def invitee(db):
    return UserFactory.create(email=INVITEE)


def membership_of(user, organization):
    with organization_context(organization):
        return Membership.objects.filter(user=user).first()


def reload(invitation: Invitation) -> Invitation:
    with organization_context(invitation.organization):
        return Invitation.objects.get(pk=invitation.pk)


def test_invitation_stores_only_the_hash_and_mails_the_link(tenants, invited):
    invitation, token = invited
    assert invitation.email == INVITEE
    assert invitation.token_hash == hash_token(token)
    with organization_context(tenants.a):
        stored = str(list(Invitation.objects.values_list()))
    assert token.split(".")[1] not in stored
    assert invitation.expires_at == invitation.created_at + timedelta(days=7)
    [message] = mail.outbox
    assert message.to == [INVITEE]
    assert reverse("tenancy:invitation_accept", args=[token]) in message.body
    event = only_event("tenancy.invitation.created")
    assert event.actor == tenants.admin.user
    assert event.organization == tenants.a
    assert event.target_id == invitation.public_id
    assert event.data == {"role": "member"}
    assert INVITEE not in str(event.data)


def test_no_mail_leaves_when_the_invitation_is_rolled_back(
    tenants, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                invite_member(
                    member_access(tenants.admin, reauthenticated=True), email=INVITEE, role="member"
                )
                raise RuntimeError("abandon the invitation")
        except RuntimeError:
            pass
    assert not events("tenancy.invitation.created")
    assert deliver_due() == 0
    assert mail.outbox == []
    assert not OutboxMessage.objects.filter(topic=INVITATION_EMAIL_TOPIC).exists()


def test_admin_cannot_invite_an_owner_but_an_owner_can(tenants):
    with pytest.raises(AccessDeniedError):
        invite_member(
            member_access(tenants.admin, reauthenticated=True), email=INVITEE, role="owner"
        )
    invitation, _ = invite_member(
        member_access(tenants.owner, reauthenticated=True), email=INVITEE, role="owner"
    )
    assert invitation.role == "owner"
    assert only_event("tenancy.invitation.created").data == {"role": "owner"}


@pytest.mark.parametrize("role", ["member", "auditor"])
def test_roles_without_member_management_cannot_invite(tenants, role):
    with pytest.raises(AccessDeniedError):
        invite_member(
            member_of(tenants.a, tenants.of_role(role).user, reauthenticated=True),
            email=INVITEE,
            role="member",
        )
    assert not events("tenancy.invitation.created")


def test_invalid_address_and_role_are_refused(tenants):
    with pytest.raises(TenancyError, match="valid e-mail"):
        invite_member(
            member_access(tenants.admin, reauthenticated=True), email="nope", role="member"
        )
    with pytest.raises(TenancyError, match="roles offered"):
        invite_member(
            member_access(tenants.admin, reauthenticated=True), email=INVITEE, role="boss"
        )


def test_members_and_pending_invitees_are_not_invited_twice(tenants, invited):
    with pytest.raises(RuleViolationError, match="already a member"):
        invite_member(
            member_access(tenants.admin, reauthenticated=True), email="member@a.test", role="member"
        )
    with pytest.raises(RuleViolationError, match="already pending"):
        invite_member(
            member_access(tenants.admin, reauthenticated=True), email=INVITEE, role="admin"
        )


def test_invited_user_accepts_and_gets_the_role(tenants, invited, invitee):
    invitation, token = invited
    membership = accept_invitation(AuditContext.system(invitee), token)
    assert membership.organization == tenants.a
    assert membership.role == "member"
    assert reload(invitation).accepted_by == invitee
    event = only_event("tenancy.invitation.accepted")
    assert event.actor == invitee
    assert event.organization == tenants.a
    assert event.data == {"membership": membership.public_id, "role": "member"}


def test_reused_link_is_refused(tenants, invited, invitee):
    _, token = invited
    accept_invitation(AuditContext.system(invitee), token)
    with pytest.raises(InvitationRefusedError, match="already been used") as refused:
        accept_invitation(AuditContext.system(invitee), token)
    assert refused.value.status == 410
    assert only_event("tenancy.invitation.refused").data == {"reason": "used"}


def test_expired_link_is_refused(tenants, invited, invitee):
    invitation, token = invited
    with (
        time_machine.travel(invitation.expires_at + timedelta(seconds=1), tick=False),
        pytest.raises(InvitationRefusedError, match="expired") as refused,
    ):
        accept_invitation(AuditContext.system(invitee), token)
    assert refused.value.status == 410
    assert membership_of(invitee, tenants.a) is None
    assert only_event("tenancy.invitation.refused").data == {"reason": "expired"}


def test_link_still_works_just_before_it_expires(tenants, invited, invitee):
    invitation, token = invited
    with time_machine.travel(invitation.expires_at - timedelta(seconds=1), tick=False):
        accept_invitation(AuditContext.system(invitee), token)
    assert membership_of(invitee, tenants.a) is not None


def test_link_of_someone_else_is_refused(tenants, invited):
    _, token = invited
    stranger = UserFactory.create(email="stranger@example.test")
    with pytest.raises(InvitationRefusedError, match="different e-mail address") as refused:
        accept_invitation(AuditContext.system(stranger), token)
    assert refused.value.status == 403
    assert membership_of(stranger, tenants.a) is None
    assert only_event("tenancy.invitation.refused").data == {"reason": "wrong_address"}


def test_unverified_address_does_not_count(tenants, invited):
    _, token = invited
    claimant = UserFactory.create(email="claimant@example.test")
    EmailAddress.objects.create(user=claimant, email=INVITEE, verified=False, primary=False)
    with pytest.raises(InvitationRefusedError, match="different e-mail address"):
        accept_invitation(AuditContext.system(claimant), token)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token, tenants: token[:-1] + ("A" if token[-1] != "A" else "B"),
        lambda token, tenants: tenants.b.public_id + token[token.index(".") :],
        lambda token, tenants: token.split(".")[1],
        lambda token, tenants: token + "x" * 200,
        lambda token, tenants: "org_nothing.at-all",
    ],
    ids=["secret-changed", "organization-swapped", "no-organization", "too-long", "made-up"],
)
def test_tampered_link_is_refused(tenants, invited, invitee, tamper):
    _, token = invited
    with pytest.raises(InvitationRefusedError, match="not valid") as refused:
        accept_invitation(AuditContext.system(invitee), tamper(token, tenants))
    assert refused.value.status == 404
    assert membership_of(invitee, tenants.a) is None
    assert only_event("tenancy.invitation.refused").data == {"reason": "invalid"}


def test_revoked_link_is_refused_and_revocation_is_audited(tenants, invited, invitee):
    invitation, token = invited
    revoke_invitation(member_access(tenants.admin, reauthenticated=True), invitation)
    assert only_event("tenancy.invitation.revoked").data == {"trigger": "manual"}
    with pytest.raises(InvitationRefusedError, match="withdrawn"):
        accept_invitation(AuditContext.system(invitee), token)
    with pytest.raises(RuleViolationError, match="no longer pending"):
        revoke_invitation(member_access(tenants.admin, reauthenticated=True), invitation)


def test_member_already_in_the_organization_cannot_accept_again(tenants, invited):
    _, token = invited
    EmailAddress.objects.create(user=tenants.member.user, email=INVITEE, verified=True)
    with pytest.raises(InvitationRefusedError, match="already belong") as refused:
        accept_invitation(AuditContext.system(tenants.member.user), token)
    assert refused.value.status == 409


# --- the pages -----------------------------------------------------------------------------------


def test_invitation_page_flow_from_invite_form_to_membership(
    client, tenants, invitee, django_capture_on_commit_callbacks
):
    client.force_login(tenants.admin.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/o/alpha/members/invite/", {"email": INVITEE, "role": "auditor"})
    assert response.status_code == 302
    [message] = mail.outbox
    link = next(line for line in message.body.splitlines() if "/invitations/" in line).strip()
    path = link.removeprefix("https://localhost:8443")

    client.force_login(invitee)
    page = client.get(path)
    assert page.status_code == 200
    assert "Alpha Clinic" in page.content.decode()
    accepted = client.post(path)
    assert accepted.status_code == 302
    assert accepted["Location"] == "/o/alpha/"
    assert membership_of(invitee, tenants.a).role == "auditor"
    assert client.get("/o/alpha/audit/").status_code == 200


def test_invite_form_shows_a_refusal_with_its_status(client, tenants, invited):
    client.force_login(tenants.admin.user)
    response = client.post("/o/alpha/members/invite/", {"email": INVITEE, "role": "member"})
    assert response.status_code == 409
    assert "already pending" in response.content.decode()
    assert (
        client.post("/o/alpha/members/invite/", {"email": "x", "role": "member"}).status_code == 400
    )


def test_invite_form_offers_owner_only_to_owners(client, tenants):
    client.force_login(tenants.admin.user)
    assert 'value="owner"' not in client.get("/o/alpha/members/invite/").content.decode()
    client.force_login(tenants.owner.user)
    assert 'value="owner"' in client.get("/o/alpha/members/invite/").content.decode()


def test_anonymous_visitor_is_asked_to_log_in_with_the_invited_address(client, invited):
    _, token = invited
    path = reverse("tenancy:invitation_accept", args=[token])
    page = client.get(path)
    assert page.status_code == 200
    assert f"{reverse('account_login')}?next={path}" in page.content.decode()
    posted = client.post(path)
    assert posted.status_code == 302
    assert posted["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize(
    ("case", "status", "message"),
    [
        ("tampered", 404, "not valid"),
        ("expired", 410, "expired"),
        ("reused", 410, "already been used"),
        ("wrong-address", 403, "different e-mail address"),
    ],
)
def test_bad_links_get_a_clear_page(client, tenants, invited, invitee, case, status, message):
    invitation, token = invited
    user = invitee
    if case == "tampered":
        token = token[:-2]
    if case == "reused":
        accept_invitation(AuditContext.system(invitee), token)
        user = UserFactory.create()  # the one who used it is taken in instead (below)
    if case == "wrong-address":
        user = UserFactory.create()
    client.force_login(user)
    path = reverse("tenancy:invitation_accept", args=[token])
    moment = invitation.expires_at + timedelta(hours=1) if case == "expired" else timezone.now()
    with time_machine.travel(moment, tick=False):
        response = client.post(path)
    assert response.status_code == status
    assert message in response.content.decode()


def test_a_used_link_takes_the_member_who_used_it_in_and_refuses_anyone_else(
    client, tenants, invited, invitee
):
    _, token = invited
    accept_invitation(AuditContext.system(invitee), token)
    path = reverse("tenancy:invitation_accept", args=[token])

    client.force_login(invitee)
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == "/o/alpha/"

    client.force_login(tenants.owner.user)  # a member of Alpha, but not the one invited
    response = client.get(path)
    assert response.status_code == 410
    assert "already been used" in response.content.decode()
