"""Invitation e-mail addresses: stored encrypted, with a blind index (control D1).

The plain column is renamed aside, the encrypted ``email`` and its ``email_index`` are
added, every existing address is encrypted into them, and the plain column is dropped.
The way back decrypts into a plain column again.

``email`` held a per-field ciphertext (``afspraak.crypto.legacy``) until
``0005_invitation_sealed`` moved it into the row's sealed column; it appears here as
the text column it was, and the conversion writes that format itself. Rows are
converted one organization at a time inside ``organization_context`` (forced
row-level security on PostgreSQL), with the keys of the live ``afspraak.crypto.keysets``
module. A fresh database has no invitations and reads no key. An organization with
invitations but no keysets stops the migration with ``MissingKeysetError`` (nothing
converted): run ``afspraak keys init-org SLUG``, then migrate again.
"""

from django.db import migrations, models

import afspraak.crypto.fields
from afspraak.crypto import keysets, legacy
from afspraak.crypto.fields import blind_index_value
from afspraak.tenancy.context import organization_context

LABEL = "tenancy.invitation"


def _convert_each_invitation(apps, schema_editor, convert):
    """Call ``convert`` on every invitation, inside its organization's context, with its keys."""
    organization_model = apps.get_model("tenancy", "Organization")
    invitation_model = apps.get_model("tenancy", "Invitation")
    using = schema_editor.connection.alias
    for organization in organization_model.objects.using(using).order_by("pk"):
        with organization_context(organization, using=using):
            invitations = invitation_model.objects.using(using).filter(
                organization_id=organization.pk
            )
            if not invitations.exists():
                continue
            keys = keysets.keys_for_writing(organization.pk)
            for invitation in invitations.order_by("pk"):
                convert(invitations.filter(pk=invitation.pk), invitation, keys)


def _encrypt(row, invitation, keys):
    address = invitation.email_plaintext
    index = blind_index_value(keys, LABEL, "email_index", "email", address)
    row.update(
        email=legacy.seal_field(keys, LABEL, "email", legacy.TEXT, invitation.public_id, address),
        email_index=None if index is None else str(index),
    )


def _decrypt(row, invitation, keys):
    row.update(
        email_plaintext=legacy.open_field(
            keys, LABEL, "email", legacy.TEXT, invitation.public_id, invitation.email
        )
    )


def encrypt_addresses(apps, schema_editor):
    _convert_each_invitation(apps, schema_editor, _encrypt)


def decrypt_addresses(apps, schema_editor):
    _convert_each_invitation(apps, schema_editor, _decrypt)


class Migration(migrations.Migration):
    dependencies = [
        ("tenancy", "0003_row_level_security"),
        # The organization keysets the conversion encrypts with.
        ("crypto", "0002_row_level_security"),
    ]

    operations = [
        migrations.RenameField(
            model_name="invitation", old_name="email", new_name="email_plaintext"
        ),
        migrations.AddField(
            model_name="invitation",
            name="email",
            field=models.TextField(default="", max_length=254),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="invitation",
            name="email_index",
            field=afspraak.crypto.fields.BlindIndexField(normalizer="email", source="email"),
        ),
        migrations.RunPython(encrypt_addresses, decrypt_addresses),
        # On the way back the plain column returns before it is refilled: it needs a default.
        migrations.AlterField(
            model_name="invitation",
            name="email_plaintext",
            field=models.EmailField(default="", max_length=254),
        ),
        migrations.RemoveField(model_name="invitation", name="email_plaintext"),
        migrations.AddIndex(
            model_name="invitation",
            index=models.Index(
                fields=["organization", "email_index"], name="tenancy_invitation_email"
            ),
        ),
    ]
