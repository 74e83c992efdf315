"""Migration 0002: MFA secrets move from the constant associated data to their user's."""

import base64
import importlib

import pytest
from allauth.mfa.adapter import get_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import generate_totp_secret
from django.apps import apps

from afspraak.accounts.mfa_secrets import MFASecretRejected
from afspraak.crypto.keyring import decrypt_with_master, encrypt_with_master
from afspraak.testing.factories import UserFactory

pytestmark = pytest.mark.django_db

migration = importlib.import_module(
    "afspraak.accounts.migrations.0002_seal_mfa_secrets_to_their_user"
)
OLD_AD = b"afspraak.mfa.authenticator.secret"


def old_format(plaintext: str) -> str:
    """Return ``plaintext`` encrypted as before the migration."""
    return "tink1:" + base64.b64encode(encrypt_with_master(plaintext.encode(), OLD_AD)).decode()


def old_format_rows():
    """Store a TOTP and a recovery-codes authenticator of one user in the old format."""
    user = UserFactory.create()
    secret, seed = generate_totp_secret(), "0123456789abcdef"
    totp = Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={})
    codes = Authenticator.objects.create(user=user, type=Authenticator.Type.RECOVERY_CODES, data={})
    # update(): straight to the table, as rows written before this change are.
    Authenticator.objects.filter(pk=totp.pk).update(data={"secret": old_format(secret)})
    Authenticator.objects.filter(pk=codes.pk).update(
        data={"seed": old_format(seed), "used_mask": 3, "migrated_codes": [old_format("A1B2")]}
    )
    return totp, codes, secret, seed


def test_forward_reencrypts_old_secrets_for_their_user():
    totp, codes, secret, seed = old_format_rows()
    with pytest.raises(MFASecretRejected):
        Authenticator.objects.get(pk=totp.pk).wrap().validate_code("123456")

    migration.seal_to_users(apps, None)

    totp_data = Authenticator.objects.get(pk=totp.pk).data
    codes_data = Authenticator.objects.get(pk=codes.pk).data
    assert totp_data["secret"].startswith("tink2:")

    assert get_adapter().decrypt(totp_data["secret"]) == secret
    assert get_adapter().decrypt(codes_data["seed"]) == seed
    assert [get_adapter().decrypt(c) for c in codes_data["migrated_codes"]] == ["A1B2"]
    assert codes_data["used_mask"] == 3


def test_forward_then_backward_restores_the_old_format():
    totp, _codes, secret, _seed = old_format_rows()

    migration.seal_to_users(apps, None)
    migration.unseal_from_users(apps, None)

    stored = Authenticator.objects.get(pk=totp.pk).data["secret"]
    assert stored.startswith("tink1:")
    assert (
        decrypt_with_master(base64.b64decode(stored.removeprefix("tink1:")), OLD_AD).decode()
        == secret
    )


def test_a_migrated_secret_copied_onto_another_user_is_refused():
    totp, _codes, _secret, _seed = old_format_rows()
    migration.seal_to_users(apps, None)
    other = UserFactory.create()
    copied = Authenticator.objects.get(pk=totp.pk).data
    other_totp = Authenticator.objects.create(user=other, type=Authenticator.Type.TOTP, data={})
    Authenticator.objects.filter(pk=other_totp.pk).update(data=copied)

    with pytest.raises(MFASecretRejected):
        Authenticator.objects.get(pk=other_totp.pk).wrap().validate_code("123456")
