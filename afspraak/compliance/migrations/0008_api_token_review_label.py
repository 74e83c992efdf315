"""An API token's review item reads "Active API token": every active token is reviewed,
not only those that may change more than bookings (the label said the latter)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("compliance", "0007_disciplinary_notes_protect_user"),
    ]

    operations = [
        migrations.AlterField(
            model_name="reviewitem",
            name="kind",
            field=models.CharField(
                choices=[
                    ("membership", "Owner or admin of an organization"),
                    ("staff", "Staff account"),
                    ("support_grant", "Active support access"),
                    ("api_token", "Active API token"),
                ],
                max_length=20,
            ),
        ),
    ]
