"""Consistent copies of the SQLite databases, and what a copy holds (schema state, rows).

The copy is made with SQLite's online backup API, which reads a consistent snapshot
while the application keeps writing; it is then encrypted through Tink Streaming AEAD
(AES256_GCM_HKDF_1MB: every 1 MB segment authenticated, the last one marked as last, so
tampering and truncation are both detected) and its ciphertext hashed on the way out.
"""

import hashlib
import io
import os
import sqlite3
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from tink import streaming_aead

_CHUNK = 1 << 20
# Pages copied per step of the online backup: big steps keep it fast; a write by the
# application between steps restarts the copy from a consistent point, as SQLite does.
_PAGES_PER_STEP = 4096


def copy_live_database(target: Path) -> None:
    """Copy the application's SQLite database, consistently, into a new file ``target``."""
    connection.ensure_connection()
    source = connection.connection
    if not isinstance(source, sqlite3.Connection):
        raise TypeError("the live database is not SQLite")
    _copy(source, target)


def copy_sqlite_file(source_path: Path, target: Path) -> None:
    """Copy another SQLite database file (the job queue), consistently, into ``target``."""
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    try:
        _copy(source, target)
    finally:
        source.close()


def _copy(source: sqlite3.Connection, target: Path) -> None:
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(descriptor)
    destination = sqlite3.connect(target)
    try:
        # The ciphertext is what must reach the disk; this plaintext copy is temporary.
        destination.execute("PRAGMA synchronous = OFF")
        source.backup(destination, pages=_PAGES_PER_STEP)
    finally:
        destination.close()


def job_queue_file() -> Path | None:
    """Return the Huey job queue's SQLite file, when the queue is one and exists."""
    if settings.HUEY.get("huey_class") != "huey.SqliteHuey":
        return None
    path = Path(str(settings.HUEY["filename"]))
    return path if path.exists() else None


def describe(path: Path) -> dict[str, Any]:
    """Return the row count of each table and the latest migration of each app in ``path``."""
    database = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [
            name
            for (name,) in database.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        counts = {
            table: database.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]  # noqa: S608
            for table in tables
        }
        schema: dict[str, str] = {}
        if "django_migrations" in tables:
            for app, name in database.execute("SELECT app, name FROM django_migrations"):
                schema[app] = max(schema.get(app, ""), name)
        return {"row_counts": counts, "schema": schema}
    finally:
        database.close()


def last_deletion_record(path: Path) -> int:
    """Return the id of the newest deletion-ledger record in ``path`` (0 when none)."""
    database = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        (last,) = database.execute("SELECT MAX(id) FROM audit_deletionrecord").fetchone()
    finally:
        database.close()
    return int(last or 0)


def applied_migrations(path: Path) -> set[tuple[str, str]]:
    """Return the (app, migration) pairs applied in the SQLite database ``path``."""
    database = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return set(database.execute("SELECT app, name FROM django_migrations"))
    except sqlite3.DatabaseError:
        return set()
    finally:
        database.close()


def unknown_migrations(applied: set[tuple[str, str]]) -> list[str]:
    """Return the applied migrations this code does not have (a newer schema), sorted."""
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    return sorted(f"{app}.{name}" for app, name in applied - known)


class _HashingWriter(io.RawIOBase):
    """Write through to a file, hashing and counting what passes."""

    def __init__(self, target: io.BufferedWriter) -> None:
        self.target = target
        self.digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        view = memoryview(data)
        self.digest.update(view)
        self.target.write(view)
        self.size += len(view)
        return len(view)


def encrypt_file(
    primitive: streaming_aead.StreamingAead, source: Path, target: Path, associated: bytes
) -> tuple[int, str]:
    """Encrypt ``source`` into a new file ``target``; return the ciphertext's size and SHA-256."""
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as output, source.open("rb") as plain:
        writer = _HashingWriter(output)
        with primitive.new_encrypting_stream(writer, associated) as encrypting:
            while chunk := plain.read(_CHUNK):
                encrypting.write(chunk)
        output.flush()
        os.fsync(output.fileno())
    return writer.size, writer.digest.hexdigest()


def decrypt_file(
    primitive: streaming_aead.StreamingAead,
    source: io.BufferedReader,
    target: Path,
    associated: bytes,
) -> None:
    """Decrypt ``source`` into a new file ``target``; raise tink.TinkError if not authentic."""
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as output:
        with primitive.new_decrypting_stream(source, associated) as decrypting:
            while chunk := decrypting.read(_CHUNK):
                output.write(chunk)
        output.flush()
        os.fsync(output.fileno())


def sha256_of(stream: Any) -> tuple[int, str]:
    """Return the size and SHA-256 of what ``stream`` holds."""
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()
