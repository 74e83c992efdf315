"""An owner deletes their organization: every row and key of it goes, nothing of another."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django_scopes import scopes_disabled

from afspraak.bookings.models import Invitee
from afspraak.crypto.errors import MissingKeysetError
from afspraak.crypto.keysets import cached_keys, clear_cache, keys_for_reading
from afspraak.crypto.models import OrganizationKeyset
from afspraak.crypto.tests.records import make_invitee, read
from afspraak.tenancy.access import AccessDeniedError
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.errors import TenancyError
from afspraak.tenancy.models import Invitation, Membership, Organization
from afspraak.tenancy.organizations import delete_organization
from afspraak.tenancy.pages import CURRENT_ORGANIZATION_SESSION_KEY
from afspraak.tenancy.roles import Role
from afspraak.testing.access import member_access, member_of
from afspraak.testing.audit import events, only_event
from afspraak.testing.factories import DEFAULT_PASSWORD, InvitationFactory, MembershipFactory


def _rows_of(organization: Organization) -> dict[str, int]:
    # Inside the organization's own context, so on PostgreSQL row-level security hides nothing.
    with organization_context(organization):
        return {
            "memberships": Membership.objects.filter(organization=organization).count(),
            "invitations": Invitation.objects.filter(organization=organization).count(),
            "invitees": Invitee.objects.filter(organization=organization).count(),
            "keysets": OrganizationKeyset.objects.filter(organization=organization).count(),
        }


@pytest.fixture
def populated(tenants):
    """Give both organizations an invitation and an invitee, and warm A's keys in the cache."""
    for organization in (tenants.a, tenants.b):
        InvitationFactory.create(organization=organization)
    theirs = make_invitee(tenants.b, name="Bram Bakker")
    make_invitee(tenants.a)
    with organization_context(tenants.a):
        keys_for_reading(tenants.a.pk)
    return theirs


def test_owner_deletes_the_organization_with_all_its_rows_and_keysets(tenants, populated):
    assert _rows_of(tenants.a) == {"memberships": 4, "invitations": 1, "invitees": 1, "keysets": 2}

    deleted = delete_organization(
        member_access(tenants.owner, reauthenticated=True), confirmation_slug="alpha"
    )

    assert not Organization.objects.filter(pk=tenants.a.pk).exists()
    assert _rows_of(tenants.a) == {"memberships": 0, "invitations": 0, "invitees": 0, "keysets": 0}
    assert deleted["tenancy.Membership"] == 4
    assert deleted["crypto.OrganizationKeyset"] == 2
    # Crypto-shredding: the keys are gone from this process and from the database.
    assert cached_keys(tenants.a.pk) is None
    with organization_context(tenants.a), pytest.raises(MissingKeysetError):
        keys_for_reading(tenants.a.pk)
    event = only_event("tenancy.organization.deleted")
    assert event.actor == tenants.owner.user
    assert event.organization_id == tenants.a.pk
    assert event.target_id == tenants.a.public_id
    assert event.data == {
        "organization": tenants.a.public_id,
        "deleted": {
            "bookings.Invitee": 1,
            "crypto.OrganizationKeyset": 2,
            "tenancy.Invitation": 1,
            "tenancy.Membership": 4,
            "tenancy.Organization": 1,
        },
    }


def test_deleting_one_organization_leaves_another_whole_and_readable(tenants, populated):
    delete_organization(
        member_access(tenants.owner, reauthenticated=True), confirmation_slug="alpha"
    )

    assert Organization.objects.filter(pk=tenants.b.pk).exists()
    assert _rows_of(tenants.b) == {"memberships": 1, "invitations": 1, "invitees": 1, "keysets": 2}
    # Unwrapped afresh from the database, B's keys still decrypt B's data.
    clear_cache()
    assert read(populated, "name") == "Bram Bakker"


def test_a_wrong_confirmation_deletes_nothing(tenants, populated):
    for typed in ("", "beta", "Alpha", "alph"):
        with pytest.raises(TenancyError, match="Type the organization's web address, alpha"):
            delete_organization(
                member_access(tenants.owner, reauthenticated=True), confirmation_slug=typed
            )
    assert _rows_of(tenants.a) == {"memberships": 4, "invitations": 1, "invitees": 1, "keysets": 2}
    assert not events("tenancy.organization.deleted")


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MEMBER, Role.AUDITOR])
def test_only_an_owner_may_delete_the_organization(tenants, role):
    with pytest.raises(AccessDeniedError):
        delete_organization(
            member_of(tenants.a, tenants.of_role(role).user, reauthenticated=True),
            confirmation_slug="alpha",
        )
    with pytest.raises(AccessDeniedError):
        delete_organization(
            member_of(tenants.a, tenants.outsider.user, reauthenticated=True),
            confirmation_slug="alpha",
        )
    assert Organization.objects.filter(pk=tenants.a.pk).exists()
    assert not events("tenancy.organization.deleted")


# --- the page ----------------------------------------------------------------------------------


def _reauthenticate(client) -> None:
    response = client.post(reverse("account_reauthenticate"), {"password": DEFAULT_PASSWORD})
    assert response.status_code == 302


def test_deleting_asks_for_the_password_again(client, tenants, populated):
    client.force_login(tenants.owner.user)
    url = reverse("tenancy:delete", args=["alpha"])

    response = client.post(url, {"confirmation_slug": "alpha"})

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert Organization.objects.filter(pk=tenants.a.pk).exists()
    assert not events("tenancy.organization.deleted")


def test_owner_deletes_the_organization_on_its_page(client, tenants, populated):
    # The owner also belongs to B, and had chosen A as their current organization.
    MembershipFactory.create(organization=tenants.b, user=tenants.owner.user, role=Role.MEMBER)
    client.force_login(tenants.owner.user)
    client.post(reverse("tenancy:switch", args=["alpha"]))
    assert "Delete this organization" in client.get("/o/alpha/").content.decode()
    page = client.get("/o/alpha/delete/").content.decode()
    assert "Memberships: 4" in page
    assert "Invitees: 1" in page
    _reauthenticate(client)

    response = client.post("/o/alpha/delete/", {"confirmation_slug": "alpha"})

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert not Organization.objects.filter(pk=tenants.a.pk).exists()
    assert CURRENT_ORGANIZATION_SESSION_KEY not in client.session
    home = client.get(reverse("home")).content.decode()
    assert "Alpha Clinic and all its data were deleted." in home
    assert "Beta Practice" in home
    assert "Alpha Clinic" not in home.replace("Alpha Clinic and all its data were deleted.", "")
    assert client.get("/o/alpha/").status_code == 404
    assert only_event("tenancy.organization.deleted").actor == tenants.owner.user


def test_other_members_find_the_deleted_organization_gone(client, tenants):
    client.force_login(tenants.admin.user)
    client.post(reverse("tenancy:switch", args=["alpha"]))
    delete_organization(
        member_access(tenants.owner, reauthenticated=True), confirmation_slug="alpha"
    )

    assert client.get("/o/alpha/").status_code == 404
    home = client.get(reverse("home"))
    assert home.status_code == 200
    assert "Alpha Clinic" not in home.content.decode()


def test_a_wrong_slug_on_the_page_shows_the_error_and_deletes_nothing(client, tenants):
    client.force_login(tenants.owner.user)
    _reauthenticate(client)

    response = client.post("/o/alpha/delete/", {"confirmation_slug": "beta"})

    assert response.status_code == 400
    assert "Type the organization&#x27;s web address, alpha, exactly" in response.content.decode()
    assert Organization.objects.filter(pk=tenants.a.pk).exists()
    assert not events("tenancy.organization.deleted")


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MEMBER, Role.AUDITOR])
def test_other_roles_get_403_and_no_delete_link(client, tenants, role):
    client.force_login(tenants.of_role(role).user)
    _reauthenticate(client)

    assert client.post("/o/alpha/delete/", {"confirmation_slug": "alpha"}).status_code == 403
    assert "Delete this organization" not in client.get("/o/alpha/").content.decode()
    assert Organization.objects.filter(pk=tenants.a.pk).exists()


def test_an_outsider_gets_404(client, tenants):
    client.force_login(tenants.outsider.user)
    _reauthenticate(client)

    assert client.post("/o/alpha/delete/", {"confirmation_slug": "alpha"}).status_code == 404
    assert Organization.objects.filter(pk=tenants.a.pk).exists()


def _delete_outside_its_context(organization: Organization) -> None:
    with transaction.atomic(), scopes_disabled():
        Organization.objects.get(pk=organization.pk).delete()
        # Django's foreign keys are deferred to the commit: check them now.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.postgres_only
def test_on_postgresql_the_cascade_outside_the_context_cannot_see_the_rows(tenants, populated):
    # Why delete_organization deletes inside the organization's context: outside it,
    # row-level security hides the tenant rows from the cascade, and the foreign keys
    # refuse to orphan them.
    with pytest.raises(IntegrityError):
        _delete_outside_its_context(tenants.a)
    assert Organization.objects.filter(pk=tenants.a.pk).exists()
    assert _rows_of(tenants.a)["memberships"] == 4
