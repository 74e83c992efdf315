"""Migrations since the last release only expand, and its code runs on the new schema.

During a rolling upgrade the previous release's nodes keep serving against the schema the
new release migrated (docs/runbooks/rolling-upgrade.md). ``released_migrations.txt``
lists that release's migrations: every later one may add tables, nullable columns and
columns with a database default, never drop, rename or add a NOT NULL column the old
code's INSERTs would leave out.
"""

from pathlib import Path

import pytest
from django.db import connection, migrations, models
from django.db.migrations.loader import MigrationLoader
from django.db.models.fields import NOT_PROVIDED
from django.utils import timezone

from afspraak.tenancy.context import organization_context

RELEASED_FILE = Path(__file__).with_name("released_migrations.txt")
CONTRACTING = (
    migrations.RemoveField,
    migrations.RenameField,
    migrations.DeleteModel,
    migrations.RenameModel,
    migrations.AlterModelTable,
)


def _released() -> set[tuple[str, str]]:
    lines = RELEASED_FILE.read_text(encoding="utf-8").splitlines()
    return {
        tuple(line.split(".", 1))  # type: ignore[misc]
        for line in lines
        if line and not line.startswith("#")
    }


def _our_migrations(loader: MigrationLoader) -> dict[tuple[str, str], migrations.Migration]:
    return {
        key: migration
        for key, migration in loader.disk_migrations.items()
        if type(migration).__module__.startswith("afspraak.")
    }


def contraction_problems(migration: migrations.Migration) -> list[str]:
    """Return what in ``migration`` would break the previous release's code."""
    problems = []
    for operation in migration.operations:
        if isinstance(operation, CONTRACTING):
            problems.append(f"{operation.describe()}: contract in a later release")
        elif isinstance(operation, migrations.AddField):
            field = operation.field
            # A Python default is not the database's: the old code's INSERT omits the column.
            if not (field.null or field.many_to_many or field.db_default is not NOT_PROVIDED):
                problems.append(f"{operation.describe()}: NOT NULL without db_default")
    return problems


def test_the_migrations_since_the_previous_release_only_expand():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    ours = _our_migrations(loader)
    released = _released()
    assert released <= set(ours), "released_migrations.txt names a migration that is gone"

    problems = {
        f"{app}.{name}": contraction_problems(migration)
        for (app, name), migration in ours.items()
        if (app, name) not in released
    }
    assert {key: found for key, found in problems.items() if found} == {}


def test_contracting_operations_are_found():
    class Example(migrations.Migration):
        operations = [
            migrations.RemoveField("organization", "name"),
            migrations.AddField(
                "organization", "plan", models.CharField(max_length=9, default="x")
            ),
            migrations.AddField("organization", "note", models.TextField(null=True)),
            migrations.AddField("organization", "tier", models.IntegerField(db_default=0)),
            migrations.CreateModel("Plan", [("id", models.BigAutoField(primary_key=True))]),
        ]

    migration = Example("0099_example", "tenancy")

    assert contraction_problems(migration) == [
        "Remove field name from organization: contract in a later release",
        "Add field plan to organization: NOT NULL without db_default",
    ]


def _previous_release_apps():
    """Return the models as the previous release's code defines them (its migration state)."""
    loader = MigrationLoader(connection)
    released = _released()
    leaves = [
        max((key for key in released if key[0] == app), key=lambda key: key[1])
        for app in {app for app, _ in released}
    ]
    return loader.project_state(leaves).apps


@pytest.mark.django_db
def test_the_previous_release_writes_and_reads_a_schedule_on_the_new_schema(tenants):
    old = _previous_release_apps()
    old_schedule = old.get_model("scheduling", "Schedule")
    organization = tenants.a

    with organization_context(organization):
        written = old_schedule.objects.create(
            organization_id=organization.pk,
            host_id=tenants.owner.user_id,
            name="Written by the previous release",
            time_zone="Europe/Amsterdam",
            weekly_hours={"0": [["09:00", "17:00"]]},
            created_at=timezone.now(),
        )
        read = old_schedule.objects.get(pk=written.pk)

    assert read.name == "Written by the previous release"
    assert read.public_id == written.public_id
