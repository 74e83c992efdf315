"""Invitations: the encrypted e-mail address moves into the row's one ciphertext, ``sealed``.

As ``bookings/0007_sealed_rows``: the ``sealed`` column is added, each invitation's
per-field ciphertext is decrypted and sealed into it (``afspraak.crypto.legacy``), and
the ``email`` column is dropped; the way back writes it again. The table is altered in
place, so its row-level-security policy stays on PostgreSQL.
"""

from django.db import migrations, models

import afspraak.crypto.fields
from afspraak.crypto import legacy

FIELDS = {"email": legacy.TEXT}


class Migration(migrations.Migration):
    dependencies = [
        ("tenancy", "0004_invitation_email_encrypted"),
        ("crypto", "0002_row_level_security"),
    ]

    operations = [
        migrations.AddField(
            model_name="invitation",
            name="sealed",
            field=afspraak.crypto.fields.SealedRowField(),
        ),
        migrations.RunPython(
            legacy.seal_rows("tenancy", "invitation", FIELDS),
            legacy.unseal_rows("tenancy", "invitation", FIELDS),
        ),
        # On the way back the column returns before it is refilled: it needs a default.
        migrations.AlterField(
            model_name="invitation", name="email", field=models.TextField(default="")
        ),
        migrations.RemoveField(model_name="invitation", name="email"),
    ]
