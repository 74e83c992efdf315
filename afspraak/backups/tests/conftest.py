"""Backups write to temporary locations of their own, never to var/."""

import sqlite3
import sys
from pathlib import Path

import pytest

PYTHON = sys.executable


@pytest.fixture
def backup_dirs(settings, tmp_path):
    """Point the backup settings at temporary directories and a job queue file of the test."""
    settings.AFSPRAAK_BACKUP_DIR = tmp_path / "primary"
    settings.AFSPRAAK_BACKUP_SECOND_LOCATION = str(tmp_path / "second")
    settings.AFSPRAAK_BACKUP_KEYSET_FILE = tmp_path / "keys" / "backup-keyset.json"
    jobs = tmp_path / "huey.sqlite3"
    with sqlite3.connect(jobs) as queue:
        queue.execute("CREATE TABLE task (id INTEGER PRIMARY KEY, data BLOB)")
        queue.execute("INSERT INTO task (data) VALUES (x'00')")
    queue.close()
    settings.HUEY = {"huey_class": "huey.SqliteHuey", "filename": str(jobs)}
    return tmp_path


def environment_for(settings, tmp_path: Path, database: Path) -> dict[str, str]:
    """Return the environment of an ``afspraak`` subprocess using these settings on ``database``."""
    return {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "afspraak.settings",
        "AFSPRAAK_VAR_DIR": str(tmp_path / "var"),
        "AFSPRAAK_DB_NAME": str(database),
        "AFSPRAAK_MASTER_KEYSET_FILE": str(settings.AFSPRAAK_MASTER_KEYSET_FILE),
        "AFSPRAAK_BACKUP_DIR": str(settings.AFSPRAAK_BACKUP_DIR),
        "AFSPRAAK_BACKUP_SECOND_LOCATION": settings.AFSPRAAK_BACKUP_SECOND_LOCATION,
        "AFSPRAAK_BACKUP_KEYSET_FILE": str(settings.AFSPRAAK_BACKUP_KEYSET_FILE),
    }
