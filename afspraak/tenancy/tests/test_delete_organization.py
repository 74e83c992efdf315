"""An owner deletes their organization: every row and key of it goes, nothing of another."""

from datetime import UTC, datetime

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, models, transaction
from django.urls import reverse
from django_scopes import scopes_disabled

from afspraak.bookings.models import Booking, Invitee, Reminder
from afspraak.crypto.errors import MissingKeysetError
from afspraak.crypto.keysets import cached_keys, clear_cache, keys_for_reading
from afspraak.crypto.models import OrganizationKeyset
from afspraak.crypto.tests.records import make_invitee, read
from afspraak.scheduling.models import DateOverride, MeetingType, Schedule
from afspraak.tenancy.access import AccessDeniedError
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.errors import TenancyError
from afspraak.tenancy.models import Invitation, Membership, Organization
from afspraak.tenancy.organizations import (
    delete_organization,
    deletion_summary,
    organization_rows_in_deletion_order,
)
from afspraak.tenancy.pages import CURRENT_ORGANIZATION_SESSION_KEY
from afspraak.tenancy.roles import Role
from afspraak.testing.access import member_access, member_of
from afspraak.testing.audit import events, only_event
from afspraak.testing.factories import (
    DEFAULT_PASSWORD,
    DateOverrideFactory,
    InvitationFactory,
    MeetingTypeFactory,
    MembershipFactory,
    book,
)


def _rows_of(organization: Organization) -> dict[str, int]:
    # Inside the organization's own context, so on PostgreSQL row-level security hides nothing.
    with organization_context(organization):
        return {
            "memberships": Membership.objects.filter(organization=organization).count(),
            "invitations": Invitation.objects.filter(organization=organization).count(),
            "invitees": Invitee.objects.filter(organization=organization).count(),
            "keysets": OrganizationKeyset.objects.filter(organization=organization).count(),
        }


# Mondays 09:00 and 10:00 in Amsterdam, a week after the clock's start.
MONDAY_NINE = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
MONDAY_TEN = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
FULL_ROWS = {
    "schedules": 1,
    "date overrides": 1,
    "meeting types": 2,
    "invitees": 2,
    "bookings": 2,
    "reminders": 4,
    "invitations": 1,
    "memberships": 5,
    "keysets": 2,
}


def _all_rows_of(organization: Organization) -> dict[str, int]:
    kinds = {
        "schedules": Schedule,
        "date overrides": DateOverride,
        "meeting types": MeetingType,
        "invitees": Invitee,
        "bookings": Booking,
        "reminders": Reminder,
        "invitations": Invitation,
        "memberships": Membership,
        "keysets": OrganizationKeyset,
    }
    with organization_context(organization):
        return {
            name: model._default_manager.filter(organization=organization).count()
            for name, model in kinds.items()
        }


@pytest.fixture
def full(tenants, clock):
    """Give A everything an organization holds, and B a booking of its own to survive."""
    booked = {}
    for organization in (tenants.b, tenants.a):
        InvitationFactory.create(organization=organization)
        booked[organization] = MeetingTypeFactory.create(
            schedule__organization=organization, reminder_offsets_minutes=[1440, 60]
        )
        book(booked[organization], MONDAY_NINE, name="Ada Lovelace", email="ada@example.test")
    ours = booked[tenants.a]
    # A second booking (a second invitee), an unbooked meeting type on the same schedule
    # and a date override: the rows that PROTECT the schedule and the invitees.
    book(ours, MONDAY_TEN, n=2)
    MeetingTypeFactory.create(schedule=ours.schedule)
    DateOverrideFactory.create(schedule=ours.schedule, date=MONDAY_NINE.date())
    return ours


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


def test_an_organization_full_of_data_is_deleted_in_one_transaction(tenants, full):
    assert _all_rows_of(tenants.a) == FULL_ROWS
    with organization_context(tenants.a):
        summary = dict(deletion_summary(tenants.a))
    assert summary == {
        "bookings": 2,
        "date overrides": 1,
        "invitations": 1,
        "invitees": 2,
        "memberships": 5,
        "meeting types": 2,
        "organization keysets": 2,
        "organizations": 1,
        "reminders": 4,
        "schedules": 1,
    }

    deleted = delete_organization(
        member_access(tenants.owner, reauthenticated=True), confirmation_slug="alpha"
    )

    assert not Organization.objects.filter(pk=tenants.a.pk).exists()
    assert _all_rows_of(tenants.a) == dict.fromkeys(FULL_ROWS, 0)
    assert deleted == {
        "bookings.Booking": 2,
        "bookings.Invitee": 2,
        "bookings.Reminder": 4,
        "crypto.OrganizationKeyset": 2,
        "scheduling.DateOverride": 1,
        "scheduling.MeetingType": 2,
        "scheduling.Schedule": 1,
        "tenancy.Invitation": 1,
        "tenancy.Membership": 5,
        "tenancy.Organization": 1,
    }
    assert only_event("tenancy.organization.deleted").data["deleted"] == deleted
    # B keeps its own booking, readable with its keys.
    theirs = _all_rows_of(tenants.b)
    assert (theirs["bookings"], theirs["reminders"], theirs["invitees"]) == (1, 2, 1)
    clear_cache()
    with organization_context(tenants.b):
        assert Invitee.objects.get(organization=tenants.b).name == "Ada Lovelace"


def test_a_failure_midway_deletes_nothing(tenants, full, monkeypatch):
    # The last kind fails after the others went: the transaction takes them all back.
    def refuse(*args, **kwargs):
        raise IntegrityError("refused")

    monkeypatch.setattr(Organization, "delete", refuse)
    with pytest.raises(IntegrityError):
        delete_organization(
            member_access(tenants.owner, reauthenticated=True), confirmation_slug="alpha"
        )
    assert _all_rows_of(tenants.a) == FULL_ROWS
    assert not events("tenancy.organization.deleted")


def test_the_deletion_order_puts_referrers_first_and_covers_every_cascade():
    order = [model for model, _ in organization_rows_in_deletion_order()]
    position = {model: index for index, model in enumerate(order)}
    assert position[Booking] < position[MeetingType] < position[Schedule]
    assert position[Booking] < position[Invitee]
    assert position[Reminder] < position[Booking]
    assert position[DateOverride] < position[Schedule]
    # Every row that would go by a cascade from an organization's row is itself counted
    # by its organization (so deletion_summary is exact): no model hangs off another
    # tenant model without an organization foreign key of its own.
    owned = set(order)
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            cascades = getattr(field.remote_field, "on_delete", None) is models.CASCADE
            if field.is_relation and cascades and field.related_model in owned:
                assert model in owned, f"{model._meta.label}.{field.name} has no organization"


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


def test_owner_deletes_an_organization_full_of_data_on_its_page(client, tenants, full):
    client.force_login(tenants.owner.user)
    page = client.get("/o/alpha/delete/")
    assert page.status_code == 200
    for line in ("Bookings: 2", "Meeting types: 2", "Schedules: 1", "Reminders: 4"):
        assert line in page.content.decode()
    _reauthenticate(client)

    response = client.post("/o/alpha/delete/", {"confirmation_slug": "alpha"})

    assert response.status_code == 302
    assert not Organization.objects.filter(pk=tenants.a.pk).exists()
    assert _all_rows_of(tenants.a) == dict.fromkeys(FULL_ROWS, 0)
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
