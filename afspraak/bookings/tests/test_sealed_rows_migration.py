"""Migration bookings/0007: per-field ciphertexts move into one sealed column per row, and back."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from afspraak.bookings.models import Booking, Invitee
from afspraak.crypto import keysets, legacy
from afspraak.crypto.keysets import create_organization_keysets
from afspraak.tenancy.context import organization_context
from afspraak.testing.factories import MeetingTypeFactory, OrganizationFactory

BEFORE = ("bookings", "0006_unique_rules_name_the_organization")
SEALED = ("bookings", "0007_sealed_rows")
INVITEE = {
    "name": "Old Format",
    "email": "old.format@example.test",
    "phone": "",
    "notes": "Per-field notes",
    "answers": {"reason": "migration", "n": [1, 2]},
}
BOOKING = {
    "invitee_name": "Old Format",
    "invitee_phone": "+31 6 1111 2222",
    "answers": {"topic": "moving"},
    "location": "",
    "cancel_reason": "",
}
KINDS = {"answers": legacy.JSON}


def per_field(keys, label: str, row_id: str, values: dict) -> dict:
    """Return ``values`` as the per-field columns stored them before 0007."""
    return {
        name: legacy.seal_field(keys, label, name, KINDS.get(name, legacy.TEXT), row_id, value)
        for name, value in values.items()
    }


def read_back(keys, label: str, row_id: str, stored: dict) -> dict:
    return {
        name: legacy.open_field(keys, label, name, KINDS.get(name, legacy.TEXT), row_id, value)
        for name, value in stored.items()
    }


@pytest.mark.django_db(transaction=True)
def test_migration_seals_per_field_rows_and_its_way_back_restores_them():
    organization = OrganizationFactory.create()
    create_organization_keysets(organization)
    meeting_type = MeetingTypeFactory.create(organization=organization)
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate([BEFORE])
        old = MigrationExecutor(connection).loader.project_state([BEFORE]).apps
        start = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
        with organization_context(organization):
            keys = keysets.keys_for_writing(organization.pk)
            invitee_model = old.get_model("bookings", "Invitee")
            invitee = invitee_model(organization_id=organization.pk)
            for name, value in per_field(
                keys, "bookings.invitee", invitee.public_id, INVITEE
            ).items():
                setattr(invitee, name, value)
            invitee.save()
            booking_model = old.get_model("bookings", "Booking")
            booking = booking_model(
                organization_id=organization.pk,
                meeting_type_id=meeting_type.pk,
                host_id=meeting_type.host_id,
                invitee_id=invitee.pk,
                start=start,
                end=start + timedelta(minutes=30),
                blocked_start=start,
                blocked_end=start + timedelta(minutes=30),
                invitee_timezone="Europe/Amsterdam",
            )
            for name, value in per_field(
                keys, "bookings.booking", booking.public_id, BOOKING
            ).items():
                setattr(booking, name, value)
            booking.save()

        MigrationExecutor(connection).migrate([SEALED])

        keysets.clear_cache()
        with organization_context(organization):
            sealed_invitee = Invitee.objects.get(pk=invitee.pk)
            sealed_booking = Booking.objects.get(pk=booking.pk)
            assert {name: getattr(sealed_invitee, name) for name in INVITEE} == INVITEE
            assert {name: getattr(sealed_booking, name) for name in BOOKING} == BOOKING
            assert sealed_invitee.sealed.startswith("afs1.")
            assert "Old Format" not in sealed_invitee.sealed + sealed_booking.sealed

        MigrationExecutor(connection).migrate([BEFORE])

        with organization_context(organization):
            keys = keysets.keys_for_writing(organization.pk)
            restored = (
                old.get_model("bookings", "Invitee").objects.values(*INVITEE).get(pk=invitee.pk)
            )
            assert read_back(keys, "bookings.invitee", invitee.public_id, restored) == INVITEE
            restored = (
                old.get_model("bookings", "Booking").objects.values(*BOOKING).get(pk=booking.pk)
            )
            assert read_back(keys, "bookings.booking", booking.public_id, restored) == BOOKING
    finally:
        MigrationExecutor(connection).migrate(latest)
