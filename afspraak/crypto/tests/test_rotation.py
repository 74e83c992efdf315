"""Key rotation through ``afspraak keys``: master rewrap, organization re-encryption, retirement."""

import io

import pytest
from allauth.mfa.models import Authenticator
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from afspraak.accounts.adapter import MFAAdapter
from afspraak.audit.chain import verify_chain
from afspraak.audit.models import AuditEvent
from afspraak.audit.trail import record
from afspraak.bookings.models import Invitee
from afspraak.crypto import keyset_rotation, keysets, rotation
from afspraak.crypto.ciphertext import key_id_of
from afspraak.crypto.fields import blind_index_of, seal_row
from afspraak.crypto.keyring import add_master_key, master_keyring
from afspraak.crypto.keysets import clear_key_caches
from afspraak.crypto.models import KeyRotation, OrganizationKeyset
from afspraak.crypto.tests.records import make_invitee, read
from afspraak.tenancy.context import organization_context
from afspraak.testing.factories import UserFactory

pytestmark = pytest.mark.django_db


def keys(*args: str) -> str:
    out = io.StringIO()
    call_command("keys", *args, stdout=out)
    return out.getvalue()


def raw_rows(organization) -> dict[int, str]:
    """Return the sealed column of each of the organization's invitees, by id."""
    with organization_context(organization), connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, sealed FROM bookings_invitee WHERE organization_id = %s ORDER BY id",
            [organization.pk],
        )
        return dict(cursor.fetchall())


def key_ids_in_use(organization) -> set[int | None]:
    return {key_id_of(text) for text in raw_rows(organization).values()}


def make_invitees(organization, count: int) -> list[Invitee]:
    return [
        make_invitee(organization, name=f"Person {n}", email=f"p{n}@example.test", notes=f"n{n}")
        for n in range(count)
    ]


def assert_all_readable(invitees: list[Invitee]) -> None:
    keysets.clear_cache()
    for invitee in invitees:
        with organization_context(invitee.organization):
            loaded = Invitee.objects.get(pk=invitee.pk)
            n = invitee.email.removeprefix("p").removesuffix("@example.test")
            assert (loaded.name, loaded.email, loaded.notes) == (
                f"Person {n}",
                invitee.email,
                f"n{n}",
            )
            assert loaded.answers == {"reason": "check-up", "first_visit": True}


def keys_of(organization) -> keysets.OrganizationKeys:
    """Return the organization's keys as stored now."""
    with organization_context(organization):
        return keysets.keys_for_reading(organization.pk, reload=True)


def unfinished_rotation(organization) -> KeyRotation:
    with organization_context(organization):
        return KeyRotation.objects.get(organization=organization, finished_at__isnull=True)


def make_totp() -> Authenticator:
    return Authenticator.objects.create(
        user=UserFactory(), type="totp", data={"secret": MFAAdapter().encrypt("JBSWY3DPEHPK3PXP")}
    )


# --- Master key ---------------------------------------------------------------------------------


def test_rotate_master_rewraps_keysets_without_touching_data(org, other_org):
    invitees = make_invitees(org, 3) + make_invitees(other_org, 2)
    data_before = {**raw_rows(org), **raw_rows(other_org)}
    old_primary = master_keyring().primary_key_id

    output = keys("rotate-master")

    new_primary = master_keyring().primary_key_id
    assert new_primary != old_primary
    assert f"master key {new_primary} is primary" in output
    assert set(rotation._master_key_usage()) == {new_primary}
    assert {**raw_rows(org), **raw_rows(other_org)} == data_before
    assert_all_readable(invitees)
    event = AuditEvent.objects.get(action="crypto.master_key.rotated")
    assert event.data == {
        "old_primary_key_id": old_primary,
        "new_primary_key_id": new_primary,
        "keysets_rewrapped": 4,
        "mfa_authenticators_reencrypted": 0,
        "installation_keys_resealed": 0,
    }


def test_rotate_master_reencrypts_mfa_secrets(org):
    totp = make_totp()
    codes = Authenticator.objects.create(
        user=UserFactory(), type="recovery_codes", data={"seed": MFAAdapter().encrypt("ab" * 40)}
    )

    keys("rotate-master")

    primary = master_keyring().primary_key_id
    totp.refresh_from_db()
    codes.refresh_from_db()
    assert rotation.mfa_master_key_usage() == {primary: 2}
    assert MFAAdapter().decrypt(totp.data["secret"]) == "JBSWY3DPEHPK3PXP"
    assert MFAAdapter().decrypt(codes.data["seed"]) == "ab" * 40


def test_retire_master_removes_the_old_key_once_nothing_uses_it(org, master_keyset):
    invitees = make_invitees(org, 2)
    make_totp()
    old_primary = master_keyring().primary_key_id
    keys("rotate-master")

    keys("retire-master", old_primary)

    assert old_primary not in master_keyring().key_ids
    assert old_primary not in master_keyset.read_text()
    assert_all_readable(invitees)
    event = AuditEvent.objects.get(action="crypto.master_key.retired")
    assert event.data == {"key_id": old_primary}


def test_retire_master_refuses_a_key_still_in_use(org, master_keyset):
    make_totp()
    old_primary = master_keyring().primary_key_id
    # A new primary key without the rewrap: the old key still wraps everything.
    add_master_key(master_keyset)

    with pytest.raises(
        CommandError,
        match=r"still encrypts 2 organization keyset\(s\), 1 MFA secret\(s\) and 0 system",
    ):
        keys("retire-master", old_primary)

    assert old_primary in master_keyring().key_ids
    assert not AuditEvent.objects.filter(action="crypto.master_key.retired").exists()


def test_retire_master_refuses_the_primary_and_unknown_keys(org):
    primary = master_keyring().primary_key_id

    with pytest.raises(CommandError, match="is the primary key"):
        keys("retire-master", primary)
    with pytest.raises(CommandError, match="holds no key 12345"):
        keys("retire-master", "12345")


# --- Organization data key ----------------------------------------------------------------------


def test_rotate_org_reencrypts_every_row_and_retires_the_old_key(org, other_org):
    invitees = make_invitees(org, 5)
    theirs = make_invitees(other_org, 2)
    their_rows = raw_rows(other_org)
    old_key = keys_of(org).data_primary_key_id

    output = keys("rotate-org", org.slug, "--batch-size", "2")

    new_keys = keys_of(org)
    assert new_keys.data_primary_key_id != old_key
    assert new_keys.data_key_ids == {new_keys.data_primary_key_id}
    assert key_ids_in_use(org) == {new_keys.data_primary_key_id}
    assert f"retired key(s): {old_key}" in output
    assert raw_rows(other_org) == their_rows
    assert_all_readable(invitees + theirs)
    event = AuditEvent.objects.get(action="crypto.org_key.rotated")
    assert event.organization == org
    assert event.data == {
        "new_key_id": new_keys.data_primary_key_id,
        "retired_key_ids": [old_key],
        "rows_reencrypted": 5,
        "resumed": False,
    }
    with organization_context(org):
        assert KeyRotation.objects.get(organization=org).finished_at is not None


def test_rotate_org_keeps_blind_indexes_working(org):
    make_invitees(org, 2)

    keys("rotate-org", org.slug)

    keysets.clear_cache()
    with organization_context(org):
        index = blind_index_of(Invitee, "email_index").index_for(org.pk, "P1@example.test")
        assert Invitee.objects.get(email_index=index).name == "Person 1"


def test_rotate_org_resumes_after_a_crash_and_finishes(org, monkeypatch):
    invitees = make_invitees(org, 5)
    old_key = keys_of(org).data_primary_key_id
    real_batch = keyset_rotation.renew_batch
    calls = []

    def crash_on_second_batch(kind, organization, model, fields, after_pk, batch_size):
        # Other encrypted models (invitations) have no rows here: count the invitees' batches.
        if model is Invitee:
            calls.append(after_pk)
            if calls == [0, after_pk] and after_pk != 0:
                raise RuntimeError("power cut")
        return real_batch(kind, organization, model, fields, after_pk, batch_size)

    monkeypatch.setattr(keyset_rotation, "renew_batch", crash_on_second_batch)
    with pytest.raises(RuntimeError, match="power cut"):
        keys("rotate-org", org.slug, "--batch-size", "2")

    unfinished = unfinished_rotation(org)
    first_batch = [invitee.pk for invitee in invitees[:2]]
    assert unfinished.progress == {"bookings.invitee": first_batch[-1]}
    stored = {pk: key_id_of(text) for pk, text in raw_rows(org).items()}
    assert all(stored[pk] == unfinished.new_key_id for pk in first_batch)
    assert all(stored[invitee.pk] == old_key for invitee in invitees[2:])
    # Mid-rotation both keys are in the keyset: every value stays readable.
    assert_all_readable(invitees)
    status = keys("status")
    assert "ROTATION IN PROGRESS" in status
    assert f"old data keys {old_key} (3 row(s) still under them)" in status

    calls.clear()
    output = keys("rotate-org", org.slug, "--batch-size", "2")

    assert "resumed an interrupted rotation" in output
    assert calls[0] == first_batch[-1]
    assert key_ids_in_use(org) == {unfinished.new_key_id}
    assert keys_of(org).data_key_ids == {unfinished.new_key_id}
    assert_all_readable(invitees)
    event = AuditEvent.objects.get(action="crypto.org_key.rotated")
    assert event.data["resumed"] is True
    assert event.data["retired_key_ids"] == [old_key]
    assert event.data["rows_reencrypted"] == 5


def test_rows_written_under_the_old_key_during_a_rotation_are_caught_before_retirement(
    org, monkeypatch
):
    invitees = make_invitees(org, 3)
    old_keys = keys_of(org)

    def stop(*args):
        raise RuntimeError("stopped before finishing")

    monkeypatch.setattr(keyset_rotation, "_finish", stop)
    with pytest.raises(RuntimeError):
        keys("rotate-org", org.slug)
    monkeypatch.undo()
    # A process that had not seen the rotation yet writes a row under the old key.
    late = invitees[0]
    late.notes = "late"
    with organization_context(org):
        Invitee._base_manager.filter(pk=late.pk).update(sealed=seal_row(late, old_keys))
    assert old_keys.data_primary_key_id in key_ids_in_use(org)

    keys("rotate-org", org.slug)

    assert old_keys.data_primary_key_id not in key_ids_in_use(org)
    assert old_keys.data_primary_key_id not in keys_of(org).data_key_ids
    assert read(late, "notes") == "late"


def test_rotate_org_of_an_unknown_organization_is_refused(db):
    with pytest.raises(CommandError, match="no organization with slug 'nope'"):
        keys("rotate-org", "nope")


def test_rotate_org_refuses_a_batch_size_below_one(org):
    with pytest.raises(CommandError, match="at least 1"):
        keys("rotate-org", org.slug, "--batch-size", "0")


# --- Status and initialisation ------------------------------------------------------------------


def test_status_shows_master_keys_and_who_uses_them(org, other_org, master_keyset):
    make_totp()
    old_primary = master_keyring().primary_key_id
    add_master_key(master_keyset)
    new_primary = master_keyring().primary_key_id

    output = keys("status")

    assert f"key {new_primary} (primary, " in output
    assert f"key {old_primary} (old, " in output
    assert "wraps 4 organization keyset(s), 1 MFA secret(s)" in output
    data_key = keys_of(org).data_primary_key_id
    assert f"alpha: data key {data_key} (since " in output
    assert f"wrapped by master key {old_primary}" in output


def test_init_org_creates_missing_keysets_and_is_audited(org):
    with organization_context(org):
        OrganizationKeyset.objects.filter(organization=org).delete()
    keysets.clear_cache()
    assert "WITHOUT keysets" in keys("status")

    assert "created the keysets of alpha" in keys("init-org", org.slug)
    assert "already has its keysets" in keys("init-org", org.slug)
    with organization_context(org):
        assert OrganizationKeyset.objects.filter(organization=org).count() == 2
    assert AuditEvent.objects.filter(action="crypto.org_keysets.created").count() == 1


def test_the_audit_chain_key_is_resealed_and_outlives_the_old_master_key(
    db, master_keyset, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        record("accounts.logout")
    old_primary = master_keyring().primary_key_id
    # A new primary key without the reseal: only the chain key still needs the old one.
    add_master_key(master_keyset)

    with pytest.raises(CommandError, match=r"0 MFA secret\(s\) and 1 system secret\(s\)"):
        keys("retire-master", old_primary)

    keys("rotate-master")
    keys("retire-master", old_primary)
    clear_key_caches()
    assert verify_chain().intact
