"""Blind-index key rotation (``afspraak keys rotate-index``): recompute, resume, retire."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from afspraak.audit.models import AuditEvent
from afspraak.bookings.models import Invitee, find_invitee_by_email
from afspraak.crypto import keyset_rotation, keysets
from afspraak.crypto.fields import blind_index_of
from afspraak.crypto.models import KeyRotation, KeysetPurpose
from afspraak.crypto.tests.records import make_invitation, make_invitee
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.models import Invitation, addressed_to

pytestmark = pytest.mark.django_db


def keys(*args: str) -> str:
    out = io.StringIO()
    call_command("keys", *args, stdout=out)
    return out.getvalue()


def keys_of(organization) -> keysets.OrganizationKeys:
    """Return the organization's keys as stored now."""
    with organization_context(organization):
        return keysets.keys_for_reading(organization.pk, reload=True)


def stored_indexes(organization) -> dict[int, str]:
    """Return the stored e-mail index of every invitee of the organization, by id."""
    with organization_context(organization):
        return dict(
            Invitee._base_manager.filter(organization=organization).values_list("pk", "email_index")
        )


def make_invitees(organization, count: int) -> list[Invitee]:
    return [
        make_invitee(organization, name=f"Person {n}", email=f"p{n}@example.test")
        for n in range(count)
    ]


def find_index(organization, email: str) -> str:
    index = blind_index_of(Invitee, "email_index").index_for(organization.pk, email)
    assert index is not None
    return index


def found_name(organization, email: str) -> str | None:
    """Look an invitee up by e-mail address as the booking flow does; return its name."""
    keysets.clear_cache()
    with organization_context(organization):
        invitee = find_invitee_by_email(organization, email)
        return None if invitee is None else invitee.name


def invitations_to(organization, email: str) -> list[str]:
    with organization_context(organization):
        return list(
            Invitation.objects.filter(addressed_to(organization, [email])).values_list(
                "public_id", flat=True
            )
        )


def crash_on_batch(monkeypatch, number: int) -> list[int]:
    """Make the invitees' batch ``number`` (1-based) fail once, like a power cut; list calls."""
    real_batch = keyset_rotation.renew_batch
    calls: list[int] = []
    crashed: list[bool] = []

    def batch(kind, organization, model, fields, after_pk, batch_size):
        # Invitations have their own batches: count the invitees' only.
        if model is Invitee:
            calls.append(after_pk)
            if len(calls) == number and not crashed:
                crashed.append(True)
                raise RuntimeError("power cut")
        return real_batch(kind, organization, model, fields, after_pk, batch_size)

    monkeypatch.setattr(keyset_rotation, "renew_batch", batch)
    return calls


def test_rotate_index_recomputes_every_index_and_retires_the_old_key(org, other_org):
    invitees = make_invitees(org, 3)
    invitation = make_invitation(org, "Guest@Example.test")
    untouched = make_invitees(other_org, 1)
    before, other_before = stored_indexes(org), stored_indexes(other_org)
    old_key = keys_of(org).index.primary_id()

    output = keys("rotate-index", org.slug)

    new_keys = keys_of(org)
    new_key = new_keys.index.primary_id()
    assert new_key != old_key
    assert new_keys.index_key_ids == {new_key}
    assert f"blind-index key {new_key} is primary" in output
    assert f"retired key(s): {old_key}" in output
    after = stored_indexes(org)
    assert all(after[invitee.pk] != before[invitee.pk] for invitee in invitees)
    assert stored_indexes(other_org) == other_before
    assert [found_name(org, f" P{n}@EXAMPLE.test ") for n in range(3)] == [
        "Person 0",
        "Person 1",
        "Person 2",
    ]
    assert invitations_to(org, "guest@example.test") == [invitation.public_id]
    assert found_name(other_org, "p0@example.test") == untouched[0].name
    event = AuditEvent.objects.get(action="crypto.org_index_key.rotated")
    assert event.data == {
        "new_key_id": new_key,
        "retired_key_ids": [old_key],
        "rows_reindexed": 4,
        "resumed": False,
    }
    started = AuditEvent.objects.get(action="crypto.org_index_key.rotation_started")
    assert started.data == {"new_key_id": new_key, "replaced_key_ids": [old_key]}


def test_rotate_index_leaves_the_data_key_and_ciphertexts_alone(org):
    make_invitees(org, 2)
    data_key = keys_of(org).data_primary_key_id
    with organization_context(org):
        ciphertexts = list(Invitee._base_manager.values_list("sealed", flat=True))

    keys("rotate-index", org.slug)

    assert keys_of(org).data_primary_key_id == data_key
    with organization_context(org):
        assert list(Invitee._base_manager.values_list("sealed", flat=True)) == ciphertexts


def test_lookups_find_rows_under_either_key_while_the_rotation_is_unfinished(org, monkeypatch):
    make_invitees(org, 4)
    make_invitation(org, "first@example.test")
    make_invitation(org, "second@example.test")
    crash_on_batch(monkeypatch, 2)
    with pytest.raises(RuntimeError, match="power cut"):
        keys("rotate-index", org.slug, "--batch-size", "2")

    # Invitees 0-1 are under the new key, 2-3 still under the old one.
    assert len(keys_of(org).index_key_ids) == 2
    assert [found_name(org, f"p{n}@example.test") for n in range(4)] == [
        f"Person {n}" for n in range(4)
    ]
    assert len(invitations_to(org, "FIRST@example.test")) == 1
    # A new invitee is indexed under the new key and found as well.
    make_invitee(org, name="Late Comer", email="late@example.test")
    assert found_name(org, "late@example.test") == "Late Comer"
    assert found_name(org, "nobody@example.test") is None


def test_a_duplicate_under_the_old_index_is_still_refused_during_the_rotation(org, monkeypatch):
    make_invitees(org, 3)
    crash_on_batch(monkeypatch, 1)
    with pytest.raises(RuntimeError, match="power cut"):
        keys("rotate-index", org.slug, "--batch-size", "1")

    duplicate = Invitee(organization=org, name="Copy", email="P2@example.test")
    with organization_context(org), pytest.raises(ValidationError, match="already exists"):
        duplicate.full_clean()


def test_rotate_index_resumes_after_a_crash_and_finishes(org, monkeypatch):
    invitees = make_invitees(org, 5)
    before = stored_indexes(org)
    old_key = keys_of(org).index.primary_id()
    calls = crash_on_batch(monkeypatch, 2)
    with pytest.raises(RuntimeError, match="power cut"):
        keys("rotate-index", org.slug, "--batch-size", "2")

    with organization_context(org):
        unfinished = KeyRotation.objects.get(
            organization=org, purpose=KeysetPurpose.INDEX, finished_at__isnull=True
        )
    first_batch = [invitee.pk for invitee in invitees[:2]]
    assert unfinished.progress == {"bookings.invitee": first_batch[-1]}
    middle = stored_indexes(org)
    assert all(middle[pk] != before[pk] for pk in first_batch)
    assert all(middle[invitee.pk] == before[invitee.pk] for invitee in invitees[2:])
    assert "INDEX ROTATION IN PROGRESS" in keys("status")

    calls.clear()
    output = keys("rotate-index", org.slug, "--batch-size", "2")

    assert "resumed an interrupted rotation" in output
    assert calls[0] == first_batch[-1]
    after = stored_indexes(org)
    assert all(after[pk] != before[pk] for pk in after)
    assert all(after[pk] == middle[pk] for pk in first_batch)
    assert keys_of(org).index_key_ids == {unfinished.new_key_id}
    assert [found_name(org, f"p{n}@example.test") for n in range(5)] == [
        f"Person {n}" for n in range(5)
    ]
    assert "INDEX ROTATION IN PROGRESS" not in keys("status")
    event = AuditEvent.objects.get(action="crypto.org_index_key.rotated")
    assert event.data["resumed"] is True
    assert event.data["retired_key_ids"] == [old_key]
    assert event.data["rows_reindexed"] == 5


def test_a_stale_save_during_the_rotation_writes_the_new_index(org, monkeypatch):
    make_invitees(org, 2)
    with organization_context(org):
        stale = Invitee.objects.get(email_index=find_index(org, "p0@example.test"))
    crash_on_batch(monkeypatch, 2)
    with pytest.raises(RuntimeError, match="power cut"):
        keys("rotate-index", org.slug, "--batch-size", "1")
    recomputed = stored_indexes(org)[stale.pk]

    # Loaded before the rotation, e-mail never read: the save must not put the old index back.
    stale.notes = "Changed"
    with organization_context(org):
        stale.save()

    assert stored_indexes(org)[stale.pk] == recomputed


def test_an_old_index_written_back_midway_is_caught_before_the_old_key_is_retired(org, monkeypatch):
    invitees = make_invitees(org, 3)
    old_index = stored_indexes(org)[invitees[0].pk]

    def stop(*args):
        raise RuntimeError("stopped before finishing")

    monkeypatch.setattr(keyset_rotation, "_finish", stop)
    with pytest.raises(RuntimeError):
        keys("rotate-index", org.slug)
    monkeypatch.undo()
    # As a bulk_update() from a process holding a row read before the rotation would.
    with organization_context(org):
        Invitee._base_manager.filter(pk=invitees[0].pk).update(email_index=old_index)

    keys("rotate-index", org.slug)

    assert stored_indexes(org)[invitees[0].pk] != old_index
    assert found_name(org, "p0@example.test") == "Person 0"


def test_rotate_index_refuses_an_unknown_organization_and_a_bad_batch_size(org):
    with pytest.raises(CommandError, match="no organization with slug 'nope'"):
        keys("rotate-index", "nope")
    with pytest.raises(CommandError, match="at least 1"):
        keys("rotate-index", org.slug, "--batch-size", "0")
    assert not KeyRotation.objects.exists()
