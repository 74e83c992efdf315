"""Invitation e-mail addresses: stored encrypted, with a blind index (control D1).

The plain column is renamed aside, the encrypted ``email`` and its ``email_index`` are
added, every existing address is encrypted into them, and the plain column is dropped.
The way back decrypts into a plain column again.

Rows are converted one organization at a time inside ``organization_context``: on
PostgreSQL the invitations and the keysets are under FORCEd row-level security, and the
role running migrations needs no BYPASSRLS for this. The conversion uses the historical
``Invitation`` model; its fields are the real ``EncryptedEmailField`` and
``BlindIndexField`` classes (imported below), so saving one encrypts and indexes it as
the application does (bound to ``tenancy.invitation``, ``email``, the row's public id).
What the historical model lacks (``EncryptedModel.save``'s transaction, which the
surrounding context provides, and the scoped manager) is not needed here. The keys come
from the live ``afspraak.crypto.keysets`` module, which is unavoidable: it is the only
reader of the organization keysets, and it needs the master key. A fresh database has no
invitations and reads no key. An organization with invitations but no keysets stops the
migration with ``MissingKeysetError`` (nothing converted): run
``afspraak keys init-org SLUG``, then migrate again.
"""

from django.db import migrations, models

import afspraak.crypto.fields
from afspraak.tenancy.context import organization_context


def _convert_each_invitation(apps, schema_editor, convert):
    """Call ``convert`` on every invitation, inside its organization's context."""
    organization_model = apps.get_model("tenancy", "Organization")
    invitation_model = apps.get_model("tenancy", "Invitation")
    using = schema_editor.connection.alias
    for organization in organization_model.objects.using(using).order_by("pk"):
        with organization_context(organization, using=using):
            invitations = invitation_model.objects.using(using).filter(
                organization_id=organization.pk
            )
            for invitation in invitations.order_by("pk"):
                convert(invitation)


def _encrypt(invitation):
    invitation.email = invitation.email_plaintext
    invitation.save(update_fields=["email", "email_index"])


def _decrypt(invitation):
    invitation.email_plaintext = invitation.email
    invitation.save(update_fields=["email_plaintext"])


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
            field=afspraak.crypto.fields.EncryptedEmailField(default="", max_length=254),
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
