"""Give every user a name (from the e-mail's local part where they had none) and cap it.

The names are filled and shortened before the column is: PostgreSQL refuses to narrow
a column holding longer values. The local part is what the pages showed before.
"""

from typing import Any

import afspraak.inputs.names
from django.db import migrations, models

MAX_NAME_LENGTH = 100


def fill_names(apps: Any, schema_editor: Any) -> None:
    User = apps.get_model("accounts", "User")  # noqa: N806 - the historical model
    for user in User.objects.only("pk", "email", "full_name").iterator():
        name = (user.full_name.strip() or user.email.split("@", 1)[0])[:MAX_NAME_LENGTH]
        if name != user.full_name:
            User.objects.filter(pk=user.pk).update(full_name=name)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_seal_mfa_secrets_to_their_user")]

    operations = [
        migrations.RunPython(fill_names, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="user",
            name="full_name",
            field=models.CharField(
                blank=True,
                max_length=100,
                validators=[afspraak.inputs.names.validate_name_text],
                verbose_name="name",
            ),
        ),
    ]
