"""Start Django on the embedded default, SQLite in a temporary directory, for a benchmark.

The same configuration ``make run`` uses (``BEGIN IMMEDIATE``, the SQLite job queue);
a temporary master keyset; migrations applied; audit lines kept off the console.
"""

import logging
import os
from pathlib import Path


def start_django_on_sqlite(directory: Path) -> None:
    """Point Django at a new SQLite database in ``directory``, migrate."""
    for name in [name for name in os.environ if name.startswith("AFSPRAAK_DB_")]:
        del os.environ[name]
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "afspraak.settings",
            "AFSPRAAK_DB_ENGINE": "sqlite",
            "AFSPRAAK_VAR_DIR": str(directory),
            "AFSPRAAK_MASTER_KEYSET_FILE": str(directory / "keys" / "master.json"),
            "AFSPRAAK_MASTER_KEY_URI": "",
            "AFSPRAAK_LOG_LEVEL": "warning",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    from afspraak.crypto.keyring import create_master_keyset

    create_master_keyset(directory / "keys" / "master.json")
    call_command("migrate", verbosity=0)
    logging.getLogger("afspraak.audit.events").setLevel(logging.WARNING)
