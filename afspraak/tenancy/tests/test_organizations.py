"""Creating organizations, switching between them, and their security settings."""

from datetime import timedelta

import pytest
import time_machine
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.urls import reverse
from django.utils import timezone

from afspraak.audit.context import AuditContext
from afspraak.crypto.models import OrganizationKeyset
from afspraak.tenancy.access import (
    AccessDeniedError,
    organization_session_limit_hours,
    organizations_require_mfa,
)
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.errors import RuleViolationError, TenancyError
from afspraak.tenancy.models import Membership, Organization
from afspraak.tenancy.organizations import create_organization, update_security_settings
from afspraak.tenancy.roles import Role
from afspraak.testing.access import member_access
from afspraak.testing.audit import events, only_event
from afspraak.testing.factories import DEFAULT_PASSWORD, MembershipFactory, UserFactory


def test_create_organization_makes_the_creator_its_owner(db):
    founder = UserFactory.create()
    organization = create_organization(
        AuditContext.system(founder), name=" Gamma Care ", slug="Gamma"
    )
    assert (organization.name, organization.slug) == ("Gamma Care", "gamma")
    with organization_context(organization):
        [owner] = Membership.objects.all()
        purposes = set(OrganizationKeyset.objects.values_list("purpose", flat=True))
    assert (owner.user, owner.role) == (founder, Role.OWNER)
    assert purposes == {"data", "index"}
    event = only_event("tenancy.organization.created")
    assert event.actor == founder
    assert event.organization == organization
    assert event.data == {"owner_membership": owner.public_id}


def test_create_organization_refuses_a_taken_or_bad_address(tenants):
    founder = UserFactory.create()
    with pytest.raises(RuleViolationError, match="taken"):
        create_organization(AuditContext.system(founder), name="Another Alpha", slug="alpha")
    with pytest.raises(RuleViolationError, match="taken"):
        create_organization(AuditContext.system(founder), name="Shadowing the admin", slug="admin")
    with pytest.raises(TenancyError, match="web address"):
        create_organization(AuditContext.system(founder), name="Spaces", slug="with spaces")
    with pytest.raises(TenancyError, match="name"):
        create_organization(AuditContext.system(founder), name="  ", slug="blank")
    assert Organization.objects.count() == 2
    assert not events("tenancy.organization.created")


def test_create_page_creates_and_opens_the_organization(client, db):
    founder = UserFactory.create()
    client.force_login(founder)
    response = client.post("/organizations/new/", {"name": "Delta", "slug": "delta"})
    assert response.status_code == 302
    assert response["Location"] == "/o/delta/"
    assert client.get("/o/delta/").status_code == 200
    taken = client.post("/organizations/new/", {"name": "Delta 2", "slug": "delta"})
    assert taken.status_code == 409
    assert "taken" in taken.content.decode()
    assert (
        client.post("/organizations/new/", {"name": "x", "slug": "not a slug"}).status_code == 400
    )


def test_home_lists_only_the_users_organizations_and_the_current_one(client, tenants):
    user = tenants.member.user
    MembershipFactory.create(organization=tenants.b, user=user, role=Role.AUDITOR)
    MembershipFactory.create(organization__name="Gamma Elsewhere")
    client.force_login(user)
    page = client.get("/").content.decode()
    assert "Alpha Clinic" in page
    assert "Beta Practice" in page
    assert "Gamma Elsewhere" not in page
    assert "<strong>current</strong>" not in page

    assert client.post("/o/beta/switch/").status_code == 302
    assert client.session["afspraak_current_organization"] == tenants.b.public_id
    page = client.get("/").content.decode()
    assert page.index("Beta Practice") < page.index("<strong>current</strong>")


def test_leaving_through_the_page_forgets_the_current_organization(client, tenants):
    client.force_login(tenants.member.user)
    client.post("/o/alpha/switch/")
    assert client.post("/o/alpha/leave/").status_code == 302
    assert "afspraak_current_organization" not in client.session
    assert client.get("/o/alpha/").status_code == 404


def test_last_owner_leaving_through_the_page_gets_a_clear_refusal(client, tenants):
    client.force_login(tenants.owner.user)
    response = client.post("/o/alpha/leave/")
    assert response.status_code == 409
    assert "last owner" in response.content.decode()


# --- security settings ---------------------------------------------------------------------------


def test_security_settings_change_is_audited(tenants):
    update_security_settings(
        member_access(tenants.admin, reauthenticated=True),
        require_mfa=False,
        session_max_age_hours=8,
    )
    tenants.a.refresh_from_db()
    assert tenants.a.session_max_age_hours == 8
    event = only_event("tenancy.security.updated")
    assert event.actor == tenants.admin.user
    assert event.organization == tenants.a
    assert event.data == {
        "changed": ["session_max_age_hours"],
        "require_mfa": False,
        "session_max_age_hours": 8,
    }


def test_security_settings_refuse_auditors_and_bad_lifetimes(tenants):
    with pytest.raises(AccessDeniedError):
        update_security_settings(
            member_access(tenants.auditor, reauthenticated=True),
            require_mfa=False,
            session_max_age_hours=8,
        )
    with pytest.raises(TenancyError, match="between 1 and"):
        update_security_settings(
            member_access(tenants.admin, reauthenticated=True),
            require_mfa=False,
            session_max_age_hours=0,
        )
    assert not events("tenancy.security.updated")


def test_requiring_mfa_needs_mfa_of_whoever_turns_it_on(tenants):
    with pytest.raises(RuleViolationError, match="lock you out"):
        update_security_settings(
            member_access(tenants.admin, reauthenticated=True),
            require_mfa=True,
            session_max_age_hours=None,
        )
    TOTP.activate(tenants.admin.user, generate_totp_secret())
    update_security_settings(
        member_access(tenants.admin, reauthenticated=True),
        require_mfa=True,
        session_max_age_hours=None,
    )
    tenants.a.refresh_from_db()
    assert tenants.a.require_mfa is True
    assert only_event("tenancy.security.updated").data["changed"] == ["require_mfa"]


def test_changing_security_settings_asks_for_the_password_again(client, tenants):
    client.force_login(tenants.admin.user)
    url = reverse("tenancy:security_edit", args=["alpha"])
    assert client.get(url).status_code == 200

    response = client.post(url, {"session_max_age_hours": "4"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    tenants.a.refresh_from_db()
    assert tenants.a.session_max_age_hours is None

    # Confirming the password on the page it was sent to resumes the suspended change.
    assert client.post(response["Location"], {"password": DEFAULT_PASSWORD}).status_code == 302
    tenants.a.refresh_from_db()
    assert tenants.a.session_max_age_hours == 4
    assert only_event("tenancy.security.updated").actor == tenants.admin.user
    # Within the re-authentication window, further changes go straight through.
    assert client.post(url, {"session_max_age_hours": "6"}).status_code == 302
    tenants.a.refresh_from_db()
    assert tenants.a.session_max_age_hours == 6


def test_security_page_shows_the_settings_to_auditors_without_the_edit_link(client, tenants):
    client.force_login(tenants.auditor.user)
    page = client.get("/o/alpha/security/").content.decode()
    assert "Not required" in page
    assert "Change security settings" not in page


# --- the settings take effect --------------------------------------------------------------------


@pytest.fixture
def mfa_required(tenants):
    Organization.objects.filter(pk=tenants.a.pk).update(require_mfa=True)
    return tenants


def test_member_without_mfa_is_sent_to_enrol_before_any_organization_page(client, mfa_required):
    tenants = mfa_required
    client.force_login(tenants.member.user)
    for path in ("/o/alpha/", "/o/alpha/switch/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"] == reverse("mfa_index")
    TOTP.activate(tenants.member.user, generate_totp_secret())
    assert client.get("/o/alpha/").status_code == 200


def test_organization_pages_require_mfa_even_without_the_accounts_middleware(
    client, mfa_required, settings
):
    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if m != "afspraak.accounts.middleware.RequireMFAMiddleware"
    ]
    tenants = mfa_required
    client.force_login(tenants.admin.user)
    response = client.get("/o/alpha/members/")
    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_index")
    event = only_event("tenancy.access.denied")
    assert event.data == {
        "reason": "mfa_required",
        "organization": tenants.a.public_id,
        "permission": "can_view_members",
    }


def test_a_shorter_session_lifetime_ends_sessions_already_open(client, tenants):
    client.force_login(tenants.member.user)
    assert client.get("/o/alpha/").status_code == 200
    Organization.objects.filter(pk=tenants.a.pk).update(session_max_age_hours=1)
    assert client.get("/o/alpha/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(minutes=61), tick=False):
        response = client.get("/o/alpha/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert "_auth_user_id" not in client.session
    assert only_event("tenancy.access.denied").data["reason"] == "session_lifetime"


def test_login_shortens_the_session_to_the_organizations_lifetime(client, tenants):
    Organization.objects.filter(pk=tenants.a.pk).update(session_max_age_hours=2)
    client.force_login(tenants.member.user)
    expiry = client.session.get_expiry_date()
    assert expiry <= timezone.now() + timedelta(hours=2)
    assert expiry > timezone.now() + timedelta(hours=1, minutes=59)


def test_login_keeps_the_platform_lifetime_when_no_organization_sets_one(client, tenants):
    client.force_login(tenants.member.user)
    assert client.session.get_expiry_date() > timezone.now() + timedelta(days=1)


def test_a_users_organization_rules_are_read_from_all_their_memberships(tenants):
    user = tenants.member.user
    MembershipFactory.create(organization=tenants.b, user=user, role=Role.MEMBER)
    assert organizations_require_mfa(user) is False
    assert organization_session_limit_hours(user) is None
    Organization.objects.filter(pk=tenants.b.pk).update(require_mfa=True, session_max_age_hours=9)
    Organization.objects.filter(pk=tenants.a.pk).update(session_max_age_hours=12)
    assert organizations_require_mfa(user) is True
    assert organization_session_limit_hours(user) == 9
    # Someone else's organizations say nothing about this user.
    assert organizations_require_mfa(tenants.auditor.user) is False
