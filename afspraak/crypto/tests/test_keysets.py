"""Organization keysets: created with the organization, stored wrapped, cached per process."""

import json
from contextlib import suppress
from typing import cast

import pytest
import tink
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from tink import secret_key_access

from afspraak.audit.models import AuditEvent
from afspraak.bookings.models import Invitee
from afspraak.crypto import keysets
from afspraak.crypto.ciphertext import key_id_of
from afspraak.crypto.errors import MasterKeyError, MissingKeysetError
from afspraak.crypto.fields import is_unread
from afspraak.crypto.keyring import master_keyring
from afspraak.crypto.keyset_rotation import rotate_organization_key
from afspraak.crypto.models import KeysetPurpose, OrganizationKeyset
from afspraak.crypto.reporting import report_failure
from afspraak.crypto.tests.records import make_invitee
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.models import Organization
from afspraak.testing.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def stored(organization) -> dict[str, OrganizationKeyset]:
    """Return the organization's stored keysets by purpose."""
    with organization_context(organization):
        return {k.purpose: k for k in OrganizationKeyset.objects.filter(organization=organization)}


def keys_of(organization) -> keysets.OrganizationKeys:
    """Return the organization's keys as stored now."""
    with organization_context(organization):
        return keysets.keys_for_reading(organization.pk, reload=True)


def raw_key_values(handle: tink.KeysetHandle) -> list[str]:
    """Return the base64 key material of every key in a cleartext keyset, as Tink writes it."""
    keyset = json.loads(tink.json_proto_keyset_format.serialize(handle, secret_key_access.TOKEN))
    return [key["keyData"]["value"] for key in keyset["key"]]


def test_an_organization_gets_a_data_and_an_index_keyset(org):
    keysets_by_purpose = stored(org)

    assert set(keysets_by_purpose) == {KeysetPurpose.DATA, KeysetPurpose.INDEX}
    for keyset in keysets_by_purpose.values():
        assert keyset.master_key_id == master_keyring().primary_key_id
        info = json.loads(keyset.wrapped_keyset)
        assert set(info) == {"encryptedKeyset", "keysetInfo"}


def test_the_factory_creates_the_keysets_with_the_organization(db):
    organization = cast(Organization, OrganizationFactory())

    assert set(stored(organization)) == {KeysetPurpose.DATA, KeysetPurpose.INDEX}


def test_stored_keysets_hold_no_key_in_the_clear(org):
    for keyset in stored(org).values():
        handle = keysets.unwrap_keyset(keyset, org.public_id)
        for value in raw_key_values(handle):
            assert value not in keyset.wrapped_keyset


def test_creating_keysets_again_changes_nothing(org):
    before = {purpose: k.wrapped_keyset for purpose, k in stored(org).items()}

    assert keysets.create_organization_keysets(org) is False
    assert {purpose: k.wrapped_keyset for purpose, k in stored(org).items()} == before


def test_each_organization_has_its_own_keys(org, other_org):
    ours = stored(org)[KeysetPurpose.DATA]
    theirs = stored(other_org)[KeysetPurpose.DATA]

    assert raw_key_values(keysets.unwrap_keyset(ours, org.public_id)) != raw_key_values(
        keysets.unwrap_keyset(theirs, other_org.public_id)
    )


def test_a_wrapped_keyset_copied_to_another_organization_does_not_unwrap(org, other_org):
    ours = stored(org)[KeysetPurpose.DATA]
    with organization_context(other_org):
        OrganizationKeyset.objects.filter(
            organization=other_org, purpose=KeysetPurpose.DATA
        ).update(wrapped_keyset=ours.wrapped_keyset)

    with pytest.raises(MasterKeyError, match="does not decrypt under the master keyset"):
        keys_of(other_org)


def test_a_wrapped_keyset_swapped_between_purposes_does_not_unwrap(org):
    keysets_by_purpose = stored(org)
    data, index = keysets_by_purpose[KeysetPurpose.DATA], keysets_by_purpose[KeysetPurpose.INDEX]
    data.wrapped_keyset, index.wrapped_keyset = index.wrapped_keyset, data.wrapped_keyset
    with organization_context(org):
        data.save()
        index.save()

    with pytest.raises(MasterKeyError):
        keys_of(org)


@pytest.mark.django_db(transaction=True)
def test_an_organization_without_keysets_cannot_store_personal_data():
    organization = Organization.objects.create(name="Keyless", slug="keyless")

    with pytest.raises(MissingKeysetError, match="keys init-org") as failure:
        make_invitee(organization)
    report_failure(failure.value)

    with organization_context(organization):
        assert not Invitee.objects.exists()
    event = AuditEvent.objects.get(action="crypto.keyset.missing")
    assert event.outcome == "failure"
    assert event.organization == organization


def test_loading_many_rows_looks_the_keys_up_once(org, django_assert_num_queries):
    for n in range(20):
        make_invitee(org, email=f"person{n}@example.test")
    keysets.clear_cache()

    with organization_context(org), django_assert_num_queries(2):
        # One query for the invitees, one for the organization's keysets.
        invitees = list(Invitee.objects.all())
        names = [invitee.name for invitee in invitees]
        emails = [invitee.email for invitee in invitees]

    assert len(set(emails)) == 20
    assert names[0] == "Anna de Vries"


@pytest.mark.django_db(transaction=True)  # the save in a transaction of its own
def test_saving_checks_the_keyset_revision_and_skips_unwrapping_when_unchanged(
    org, django_assert_num_queries
):
    invitee = make_invitee(org)
    invitee.notes = "Changed"
    with organization_context(org), django_assert_num_queries(2):
        # The revision check, then the update; the cached primitives are reused.
        invitee.save(update_fields=["sealed"])


def change(invitee: Invitee) -> None:
    """Change an encrypted field of ``invitee`` and save it (a write under the data keyset)."""
    invitee.notes = f"{invitee.notes}."
    invitee.save(update_fields=["sealed"])


def revision_checks(queries: CaptureQueriesContext) -> int:
    """Count the revision checks (the share-locking query) among ``queries``."""
    check = "SELECT purpose, revision FROM crypto_organizationkeyset"
    return sum(check in query["sql"] for query in queries.captured_queries)


def test_a_transaction_checks_the_revisions_once_unless_the_savepoint_that_did_rolls_back(org):
    invitee = make_invitee(org)
    keysets.forget(org.pk)  # start as a new transaction would: nothing checked yet
    with organization_context(org), CaptureQueriesContext(connection) as queries:
        with suppress(RuntimeError), transaction.atomic():
            change(invitee)
            raise RuntimeError  # rolling the savepoint back releases the lock it took
        assert revision_checks(queries) == 1
        change(invitee)  # so this one checks (and locks) again
        assert revision_checks(queries) == 2
        change(invitee)  # and this one relies on that lock
        make_invitee(org, email="second@example.test")
    assert revision_checks(queries) == 2


def test_a_change_of_the_keyset_in_the_transaction_makes_the_next_write_check_again(org):
    invitee = make_invitee(org)
    keysets.forget(org.pk)
    with organization_context(org), CaptureQueriesContext(connection) as queries:
        change(invitee)
        keyset = OrganizationKeyset.objects.get(organization=org, purpose=KeysetPurpose.DATA)
        keysets.store_keyset(keyset, keysets.unwrap_keyset(keyset, org.public_id), org.public_id)
        change(invitee)
    assert revision_checks(queries) == 2


def test_a_process_with_stale_keys_catches_up_after_a_rotation_elsewhere(org):
    stale = keys_of(org)
    rotate_organization_key(org)
    # Another process still holds the keys from before the rotation.
    keysets._cache.put(stale)

    # Its writes check the keyset revision: they use the new key, not the stale one.
    invitee = make_invitee(org, email="after@example.test")
    fresh = keys_of(org)
    assert fresh.data_primary_key_id != stale.data_primary_key_id
    with organization_context(org):
        (sealed,) = Invitee.objects.filter(pk=invitee.pk).values_list("sealed", flat=True)
    assert key_id_of(sealed) == fresh.data_primary_key_id

    # Its reads retry with the keys as stored now when the cached ones fail.
    keysets._cache.put(stale)
    with organization_context(org):
        loaded = Invitee.objects.get(pk=invitee.pk)
        assert is_unread(loaded)
        assert loaded.name == "Anna de Vries"


def test_the_cache_is_bounded_and_drops_the_least_recently_used(org, other_org):
    cache = keysets._Cache(size=1)
    ours, theirs = keys_of(org), keys_of(other_org)

    cache.put(ours)
    cache.put(theirs)

    assert cache.get(org.pk) is None
    assert cache.get(other_org.pk) is theirs
