"""Invitation e-mail addresses are personal data: stored only encrypted, found by a blind index."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from django_scopes import scopes_disabled

from afspraak.crypto import keysets
from afspraak.crypto.ciphertext import key_id_of
from afspraak.crypto.fields import EncryptedFieldQueryError, blind_index_of, encrypted_models
from afspraak.crypto.keyset_rotation import rotate_organization_key
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.invitations import invite_member
from afspraak.tenancy.models import Invitation, addressed_to
from afspraak.testing.access import member_access
from afspraak.testing.factories import InvitationFactory, OrganizationFactory

INVITEE = "new.person@example.test"
BEFORE = ("tenancy", "0003_row_level_security")


def stored_columns(invitation: Invitation) -> tuple[str, str]:
    """Return the invitation's sealed and e-mail index columns as the database holds them."""
    with organization_context(invitation.organization), connection.cursor() as cursor:
        cursor.execute(
            "SELECT sealed, email_index FROM tenancy_invitation WHERE id = %s", [invitation.pk]
        )
        return cursor.fetchone()


def index_of(organization, address: str) -> str | None:
    with organization_context(organization):
        return blind_index_of(Invitation, "email_index").index_for(organization.pk, address)


def test_invited_address_is_stored_only_as_ciphertext_with_its_blind_index(tenants):
    invitation, _ = invite_member(
        member_access(tenants.admin, reauthenticated=True),
        email="New.Person@Example.test",
        role="member",
    )

    sealed, email_index = stored_columns(invitation)
    assert sealed.startswith("afs1.")
    assert "new.person" not in sealed.lower()
    assert email_index == index_of(tenants.a, INVITEE)
    keysets.clear_cache()
    with organization_context(tenants.a):
        assert Invitation.objects.get(pk=invitation.pk).email == INVITEE


def test_filtering_invitations_on_a_plain_address_is_refused(tenants):
    with organization_context(tenants.a), pytest.raises(EncryptedFieldQueryError):
        list(Invitation.objects.filter(email=INVITEE))


def test_pending_invitation_in_one_organization_does_not_block_another(tenants):
    in_a, _ = invite_member(
        member_access(tenants.admin, reauthenticated=True), email=INVITEE, role="member"
    )
    in_b, _ = invite_member(
        member_access(tenants.outsider, reauthenticated=True), email=INVITEE, role="member"
    )
    # The same address has a different index in each organization.
    assert stored_columns(in_a)[1] != stored_columns(in_b)[1]


def test_addressed_to_matches_any_case_and_only_the_organizations_own_invitations(tenants):
    ours = InvitationFactory.create(organization=tenants.a, email=INVITEE)
    InvitationFactory.create(organization=tenants.a, email="someone.else@example.test")
    InvitationFactory.create(organization=tenants.b, email=INVITEE)

    with organization_context(tenants.a), scopes_disabled():
        found = list(
            Invitation.objects.filter(addressed_to(tenants.a, ["  NEW.Person@example.TEST "]))
        )
        nothing = list(Invitation.objects.filter(addressed_to(tenants.a, [])))
    assert [invitation.pk for invitation in found] == [ours.pk]
    assert nothing == []


def test_organization_key_rotation_reencrypts_invitation_addresses(tenants):
    assert Invitation in [model for model, _ in encrypted_models()]
    invitation = InvitationFactory.create(organization=tenants.a, email=INVITEE)
    old_sealed, old_index = stored_columns(invitation)

    rotated = rotate_organization_key(tenants.a)

    sealed, email_index = stored_columns(invitation)
    assert key_id_of(old_sealed) in rotated.retired_key_ids
    assert key_id_of(sealed) == rotated.new_key_id
    assert email_index == old_index
    keysets.clear_cache()
    with organization_context(tenants.a):
        assert Invitation.objects.get(pk=invitation.pk).email == INVITEE


@pytest.mark.django_db(transaction=True)
def test_migrations_encrypt_and_seal_existing_addresses_and_their_way_back_decrypts_them():
    organization = OrganizationFactory.create()
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate([BEFORE])
        before = MigrationExecutor(connection).loader.project_state([BEFORE]).apps
        with organization_context(organization):
            plain = before.get_model("tenancy", "Invitation").objects.create(
                organization_id=organization.pk,
                email="Plain.Person@Example.test",
                token_hash="0" * 64,
                expires_at=timezone.now() + timedelta(days=7),
            )

        # 0004 encrypts the address into its own column, 0005 seals it into the row's; the
        # later migrations only add what the current model (used below) reads.
        MigrationExecutor(connection).migrate(latest)

        keysets.clear_cache()
        with organization_context(organization):
            converted = Invitation.objects.get(pk=plain.pk)
            assert converted.email == "Plain.Person@Example.test"
            assert converted.public_id == plain.public_id
            assert (
                Invitation.objects.filter(
                    addressed_to(organization, ["plain.person@example.test"])
                ).get()
                == converted
            )
        sealed, _ = stored_columns(converted)
        assert sealed.startswith("afs1.")
        assert "plain.person" not in sealed.lower()

        MigrationExecutor(connection).migrate([BEFORE])

        with organization_context(organization), connection.cursor() as cursor:
            cursor.execute("SELECT email FROM tenancy_invitation WHERE id = %s", [plain.pk])
            assert cursor.fetchone() == ("Plain.Person@Example.test",)
    finally:
        MigrationExecutor(connection).migrate(latest)
