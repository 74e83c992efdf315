"""Start Django on a throw-away PostgreSQL server for a benchmark (not a benchmark itself).

The same server the tests start (``afspraak.testing.postgres``), on 127.0.0.1, removed
at exit; a temporary master keyset; migrations applied; audit lines kept off the
console so they do not bury the figures (the events still go to the table).
"""

import logging
import os
from pathlib import Path


def start_django_on_postgres(directory: Path, database: str) -> None:
    """Start the server, point Django at a new database on it, migrate."""
    from afspraak.testing.postgres import ThrowAwayServer

    server = ThrowAwayServer()
    coordinates = server.start()  # stops itself at exit (atexit)
    os.environ.update(
        coordinates.environ()
        | {
            "DJANGO_SETTINGS_MODULE": "afspraak.settings",
            "AFSPRAAK_VAR_DIR": str(directory),
            "AFSPRAAK_DB_NAME": database,
            "AFSPRAAK_MASTER_KEYSET_FILE": str(directory / "keys" / "master.json"),
            "AFSPRAAK_MASTER_KEY_URI": "",
            "AFSPRAAK_LOG_LEVEL": "warning",
        }
    )
    import psycopg

    with psycopg.connect(**coordinates.connection_kwargs("owner", "postgres")) as admin:
        admin.autocommit = True
        admin.execute(f"CREATE DATABASE {database}")
    import django

    django.setup()
    from django.core.management import call_command

    from afspraak.crypto.keyring import create_master_keyset

    create_master_keyset(directory / "keys" / "master.json")
    call_command("migrate", verbosity=0)
    logging.getLogger("afspraak.audit.events").setLevel(logging.WARNING)
