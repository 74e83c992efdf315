"""Re-encrypt every MFA secret from the constant associated data ("tink1:") to associated
data naming its user ("tink2:"), so a secret copied onto another user's row never decrypts.

Both formats are written out here rather than imported: this migration must keep reading
and writing exactly these two, whatever the application's code does later.
"""

import base64
from collections.abc import Callable
from typing import Any

from django.db import migrations

from afspraak.crypto.keyring import decrypt_with_master, encrypt_with_master

OLD_PREFIX = "tink1:"
OLD_ASSOCIATED_DATA = b"afspraak.mfa.authenticator.secret"
NEW_PREFIX = "tink2:"


def _new_associated_data(public_id: str) -> bytes:
    return b"afspraak.mfa.authenticator.secret:" + public_id.encode()


def _reencrypt(value: str, source: tuple[str, bytes], target: tuple[str, bytes]) -> str:
    (source_prefix, source_ad), (target_prefix, target_ad) = source, target
    if not value.startswith(source_prefix):
        return value
    plaintext = decrypt_with_master(base64.b64decode(value.removeprefix(source_prefix)), source_ad)
    return target_prefix + base64.b64encode(encrypt_with_master(plaintext, target_ad)).decode()


def _convert_all(
    apps: Any, formats: Callable[[str], tuple[tuple[str, bytes], tuple[str, bytes]]]
) -> None:
    Authenticator = apps.get_model("mfa", "Authenticator")
    User = apps.get_model("accounts", "User")
    public_ids = dict(User.objects.values_list("pk", "public_id"))
    for authenticator in Authenticator.objects.order_by("pk").iterator():
        source, target = formats(public_ids[authenticator.user_id])
        data = authenticator.data
        for key, value in data.items():
            if isinstance(value, str):
                data[key] = _reencrypt(value, source, target)
            elif isinstance(value, list):
                data[key] = [
                    _reencrypt(item, source, target) if isinstance(item, str) else item
                    for item in value
                ]
        Authenticator.objects.filter(pk=authenticator.pk).update(data=data)


def seal_to_users(apps: Any, schema_editor: Any) -> None:
    """Re-encrypt each secret for its authenticator's user."""
    _convert_all(
        apps,
        lambda public_id: (
            (OLD_PREFIX, OLD_ASSOCIATED_DATA),
            (NEW_PREFIX, _new_associated_data(public_id)),
        ),
    )


def unseal_from_users(apps: Any, schema_editor: Any) -> None:
    """Re-encrypt each secret under the former constant associated data."""
    _convert_all(
        apps,
        lambda public_id: (
            (NEW_PREFIX, _new_associated_data(public_id)),
            (OLD_PREFIX, OLD_ASSOCIATED_DATA),
        ),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [migrations.RunPython(seal_to_users, unseal_from_users, elidable=False)]
