"""Invitees and bookings: every encrypted value of a row in one ciphertext, ``sealed``.

Each encrypted field had a column of its own (one ciphertext per field); now all of a
row's encrypted values are one JSON object encrypted once (``afspraak.crypto.fields``),
which makes loading many rows about as cheap as loading them in plaintext. The
``sealed`` column is added, every row's per-field ciphertexts are decrypted and sealed
together into it (``afspraak.crypto.legacy``, one organization at a time inside its
context), and the old columns are dropped; the way back writes them again. Tables are
altered in place, so their row-level-security policies stay on PostgreSQL.
"""

from django.db import migrations, models

import afspraak.crypto.fields
from afspraak.crypto import legacy

INVITEE = {
    "answers": legacy.JSON,
    "email": legacy.TEXT,
    "name": legacy.TEXT,
    "notes": legacy.TEXT,
    "phone": legacy.TEXT,
}
BOOKING = {
    "answers": legacy.JSON,
    "cancel_reason": legacy.TEXT,
    "invitee_name": legacy.TEXT,
    "invitee_phone": legacy.TEXT,
    "location": legacy.TEXT,
}


def seal_rows(apps, schema_editor):
    legacy.seal_rows("bookings", "invitee", INVITEE)(apps, schema_editor)
    legacy.seal_rows("bookings", "booking", BOOKING)(apps, schema_editor)


def unseal_rows(apps, schema_editor):
    legacy.unseal_rows("bookings", "invitee", INVITEE)(apps, schema_editor)
    legacy.unseal_rows("bookings", "booking", BOOKING)(apps, schema_editor)


def _drop(model_name, names):
    # On the way back the columns return before they are refilled: they need a default.
    return [
        operation
        for name in names
        for operation in (
            migrations.AlterField(
                model_name=model_name, name=name, field=models.TextField(default="")
            ),
            migrations.RemoveField(model_name=model_name, name=name),
        )
    ]


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0006_unique_rules_name_the_organization"),
        # The organization keysets the conversion encrypts with.
        ("crypto", "0002_row_level_security"),
    ]

    operations = [
        migrations.AddField(
            model_name="invitee",
            name="sealed",
            field=afspraak.crypto.fields.SealedRowField(),
        ),
        migrations.AddField(
            model_name="booking",
            name="sealed",
            field=afspraak.crypto.fields.SealedRowField(),
        ),
        migrations.RunPython(seal_rows, unseal_rows),
        *_drop("invitee", INVITEE),
        *_drop("booking", BOOKING),
    ]
