"""The master keyset: file provider, rotation of the file, KMS selection, fail-closed checks."""

import json
import stat
import sys

import pytest
import tink
from tink import aead

from afspraak.crypto import keysets
from afspraak.crypto.checks import check_master_key
from afspraak.crypto.errors import MasterKeyError
from afspraak.crypto.keyring import (
    add_master_key,
    create_master_keyset,
    decrypt_with_master,
    encrypt_with_master,
    load_master_keyset,
    master_keyring,
    remove_master_key,
)
from afspraak.crypto.keysets import clear_key_caches
from afspraak.crypto.models import KeysetPurpose, OrganizationKeyset
from afspraak.crypto.tests.records import make_invitee, read
from afspraak.tenancy.context import organization_context

AWS_URI = "aws-kms://arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"


def key_ids_in_file(path) -> list[int]:
    return [key["keyId"] for key in json.loads(path.read_text())["key"]]


def test_a_new_master_keyset_is_owner_only_and_never_overwritten(tmp_path):
    path = tmp_path / "new-keys" / "master.json"

    assert create_master_keyset(path) is True
    first = path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert create_master_keyset(path) is False
    assert path.read_text() == first


def test_values_round_trip_under_the_master_key():
    ciphertext = encrypt_with_master(b"totp secret", b"context")

    assert decrypt_with_master(ciphertext, b"context") == b"totp secret"
    with pytest.raises(MasterKeyError, match="did not authenticate"):
        decrypt_with_master(ciphertext, b"other context")


def test_a_missing_master_keyset_is_refused(settings, tmp_path):
    settings.AFSPRAAK_MASTER_KEYSET_FILE = tmp_path / "absent.json"

    with pytest.raises(MasterKeyError, match="is missing: restore it from your key backup"):
        encrypt_with_master(b"x", b"y")


def test_a_master_keyset_readable_by_others_is_refused(master_keyset):
    master_keyset.chmod(0o640)

    with pytest.raises(MasterKeyError, match="chmod 600"):
        master_keyring()
    with pytest.raises(MasterKeyError, match="accessible by group or others"):
        load_master_keyset(master_keyset)


def test_a_file_that_is_not_a_keyset_is_refused(master_keyset):
    master_keyset.write_text("{not json")

    with pytest.raises(MasterKeyError, match="cannot be read as a Tink keyset"):
        master_keyring()


def test_a_key_removed_while_running_stops_the_process_from_using_it(master_keyset):
    master_keyring()
    master_keyset.unlink()

    with pytest.raises(MasterKeyError, match="missing"):
        encrypt_with_master(b"x", b"y")


def test_adding_a_master_key_makes_it_primary_and_keeps_old_ciphertexts_readable(master_keyset):
    old_ciphertext = encrypt_with_master(b"before", b"ad")
    old_primary = master_keyring().primary_key_id

    new_id = add_master_key(master_keyset)

    # No cache was cleared: the keyring notices the changed file by itself.
    assert master_keyring().primary_key_id == str(new_id) != old_primary
    assert decrypt_with_master(old_ciphertext, b"ad") == b"before"
    assert master_keyring().key_id_of(encrypt_with_master(b"after", b"ad")) == str(new_id)
    assert stat.S_IMODE(master_keyset.stat().st_mode) == 0o600
    assert sorted(key_ids_in_file(master_keyset)) == sorted([int(old_primary), new_id])


def test_removing_a_master_key_refuses_the_primary(master_keyset):
    primary = int(master_keyring().primary_key_id)

    with pytest.raises(MasterKeyError, match="primary"):
        remove_master_key(master_keyset, primary)


def test_a_removed_master_key_no_longer_decrypts(master_keyset):
    old_primary = int(master_keyring().primary_key_id)
    ciphertext = encrypt_with_master(b"before", b"ad")
    add_master_key(master_keyset)

    remove_master_key(master_keyset, old_primary)

    assert old_primary not in key_ids_in_file(master_keyset)
    with pytest.raises(MasterKeyError):
        decrypt_with_master(ciphertext, b"ad")


def test_the_mfa_adapter_keeps_its_secrets_encrypted():
    from afspraak.accounts.adapter import MFAAdapter

    adapter = MFAAdapter()
    stored = adapter.encrypt("JBSWY3DPEHPK3PXP")

    assert "JBSWY3DPEHPK3PXP" not in stored
    assert adapter.decrypt(stored) == "JBSWY3DPEHPK3PXP"


def test_selecting_aws_kms_without_its_integration_gives_a_clear_error(settings, monkeypatch):
    # A None entry in sys.modules makes the import fail, as it does without the extra.
    monkeypatch.setitem(sys.modules, "tink.integration.awskms", None)
    settings.AFSPRAAK_MASTER_KEY_URI = AWS_URI
    clear_key_caches()

    with pytest.raises(MasterKeyError, match=r"install the `tink\[awskms\]` extra"):
        encrypt_with_master(b"x", b"y")
    errors = check_master_key()
    assert [error.id for error in errors] == ["crypto.E010"]


def test_an_unsupported_kms_uri_is_refused(settings):
    settings.AFSPRAAK_MASTER_KEY_URI = "gcp-kms://projects/p/locations/l/keyRings/r/cryptoKeys/k"
    clear_key_caches()

    with pytest.raises(MasterKeyError, match="names no supported KMS"):
        master_keyring()


class FakeKmsClient(tink.KmsClient):
    """Stands in for AWS KMS: one AEAD key per URI, kept in memory."""

    def __init__(self) -> None:
        self.keys: dict[str, aead.Aead] = {}

    def does_support(self, key_uri: str) -> bool:
        return key_uri.startswith("aws-kms://")

    def get_aead(self, key_uri: str) -> aead.Aead:
        if key_uri not in self.keys:
            handle = tink.new_keyset_handle(aead.aead_key_templates.AES256_GCM)
            self.keys[key_uri] = handle.primitive(aead.Aead)
        return self.keys[key_uri]


@pytest.mark.django_db
def test_a_kms_master_key_wraps_organization_keysets(settings, monkeypatch):
    client = FakeKmsClient()
    monkeypatch.setattr(tink, "kms_client_from_uri", lambda uri: client)
    settings.AFSPRAAK_MASTER_KEY_URI = AWS_URI
    clear_key_caches()
    from afspraak.crypto.tests.records import make_organization

    organization = make_organization()
    invitee = make_invitee(organization)
    keysets.clear_cache()

    with organization_context(organization):
        keyset = OrganizationKeyset.objects.get(
            organization=organization, purpose=KeysetPurpose.DATA
        )
    assert keyset.master_key_id == AWS_URI
    assert read(invitee, "name") == "Anna de Vries"
    # The keyset is really under the KMS key: another KMS key cannot unwrap it.
    client.keys[AWS_URI] = FakeKmsClient().get_aead(AWS_URI)
    clear_key_caches()
    with pytest.raises(MasterKeyError):
        _ = read(invitee, "name")


def test_the_system_check_refuses_a_keyset_readable_by_others(master_keyset):
    master_keyset.chmod(0o644)

    errors = check_master_key()

    assert [error.id for error in errors] == ["crypto.E010"]
    assert "chmod 600" in errors[0].msg


def test_the_system_check_accepts_a_private_keyset_and_a_not_yet_created_one(
    settings, tmp_path, master_keyset
):
    assert check_master_key() == []
    settings.AFSPRAAK_MASTER_KEYSET_FILE = tmp_path / "not-yet.json"
    assert check_master_key() == []
