"""Consistent copies of the SQLite databases, encrypted, and what a copy holds.

Everything is encrypted through Tink Streaming AEAD (AES256_GCM_HKDF_1MB: every 1 MB
segment authenticated, the last one marked as last, so tampering and truncation are both
detected) and its ciphertext hashed on the way out.

The application's database (rollback journal, the default) is encrypted straight from
its file in one pass: a read transaction holds SQLite's SHARED lock, under which no
writer can change the file (a commit needs EXCLUSIVE), so the bytes read are one
consistent database; its row counts and ledger mark are read in the same transaction.
Writers wait meanwhile, within the 20 s busy timeout (a few seconds per GB). A
database in WAL mode (Huey's job queue) keeps committed pages in its ``-wal`` file, so
it is copied with SQLite's online backup API first and that copy encrypted.
"""

import hashlib
import io
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from tink import streaming_aead

_CHUNK = 1 << 20
# Large reads keep the one pass over a big database cheap; Tink cuts them in 1 MB segments.
_READ_CHUNK = 16 << 20
# As long as the application's own connections wait for a lock (settings: "timeout").
_BUSY_TIMEOUT = 20
_HAS_FADVISE = hasattr(os, "posix_fadvise")
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
        return _describe(database)
    finally:
        database.close()


def _describe(database: sqlite3.Connection) -> dict[str, Any]:
    tables = [
        name
        for (name,) in database.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]
    # Table names cannot be bound; these come from the copy's own sqlite_master, quoted.
    counts = {
        table: database.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]  # noqa: S608
        for table in tables
    }
    schema: dict[str, str] = {}
    if "django_migrations" in tables:
        for app, name in database.execute("SELECT app, name FROM django_migrations"):
            schema[app] = max(schema.get(app, ""), name)
    return {"row_counts": counts, "schema": schema}


def last_deletion_record(path: Path) -> int:
    """Return the id of the newest deletion-ledger record in ``path`` (0 when none)."""
    database = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return _last_deletion_record(database)
    finally:
        database.close()


def _last_deletion_record(database: sqlite3.Connection) -> int:
    (last,) = database.execute("SELECT MAX(id) FROM audit_deletionrecord").fetchone()
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
    """Write through to a file, counting what passes and hashing it in a second thread.

    SHA-256 costs about as much as the encryption: hashing one segment while the next is
    encrypted and written nearly halves the CPU time of a backup (hashlib lets go of
    the GIL for large buffers).
    """

    def __init__(self, target: io.BufferedWriter, copies: Sequence[BinaryIO] = ()) -> None:
        self.target = target
        self.copies = copies
        self.size = 0
        self._digest = hashlib.sha256()
        self._hashing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="backup-sha256")
        self._pending: Future[None] | None = None

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        # A copy of its own: the encrypting stream may reuse its buffer once this returns.
        chunk = bytes(data)
        if self._pending is not None:
            self._pending.result()
        self._pending = self._hashing.submit(self._digest.update, chunk)
        self.target.write(chunk)
        for copy in self.copies:
            copy.write(chunk)
        self.size += len(chunk)
        return len(chunk)

    def hexdigest(self) -> str:
        """Return the SHA-256 of everything written, once the hashing thread is done."""
        self.stop_hashing()
        return self._digest.hexdigest()

    def stop_hashing(self) -> None:
        """Wait for the hashing thread and end it."""
        self._hashing.shutdown(wait=True)


def encrypt_file(
    primitive: streaming_aead.StreamingAead,
    source: Path,
    target: Path,
    associated: bytes,
    copies: Sequence[BinaryIO] = (),
) -> tuple[int, str]:
    """Encrypt ``source`` into a new file ``target`` (and ``copies``); return size and SHA-256."""
    with source.open("rb", buffering=0) as plain:
        size, digest, _ = _encrypt_stream(primitive, plain, target, associated, copies)
    return size, digest


def _encrypt_stream(
    primitive: streaming_aead.StreamingAead,
    plain: io.RawIOBase,
    target: Path,
    associated: bytes,
    copies: Sequence[BinaryIO] = (),
    before_sync: Callable[[], object] = lambda: None,
) -> tuple[int, str, int]:
    """Encrypt what ``plain`` holds into a new file ``target`` and ``copies``; return sizes."""
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    read = 0
    with os.fdopen(descriptor, "wb") as output, _hashing_writer(output, copies) as writer:
        buffer = bytearray(_READ_CHUNK)
        view = memoryview(buffer)
        started = 0
        with primitive.new_encrypting_stream(writer, associated) as encrypting:
            while count := plain.readinto(buffer):
                encrypting.write(view[:count])
                read += count
                # Start writing what is encrypted to disk now, beside the encryption,
                # rather than all of it in the final sync: on Linux this starts the
                # writeback of those dirty pages (and keeps them cached).
                if _HAS_FADVISE:
                    for written in (output, *copies):
                        os.posix_fadvise(
                            written.fileno(), started, writer.size - started, os.POSIX_FADV_DONTNEED
                        )
                started = writer.size
        before_sync()
        output.flush()
        os.fsync(output.fileno())
        return writer.size, writer.hexdigest(), read


@contextmanager
def _hashing_writer(
    output: io.BufferedWriter, copies: Sequence[BinaryIO]
) -> Iterator[_HashingWriter]:
    writer = _HashingWriter(output, copies)
    try:
        yield writer
    finally:
        writer.stop_hashing()


def encrypt_live_database(
    primitive: streaming_aead.StreamingAead,
    path: Path,
    target: Path,
    associated: bytes,
    copies: Sequence[BinaryIO] = (),
) -> tuple[int, str, int, dict[str, Any], int] | None:
    """Encrypt the SQLite file ``path`` consistently in one pass (None if it is in WAL mode).

    Return the ciphertext's size and SHA-256, the database's size, its description
    (``describe``) and its newest deletion-ledger record, all of the same moment.
    """
    reader = sqlite3.connect(path, isolation_level=None, timeout=_BUSY_TIMEOUT)
    try:
        (mode,) = reader.execute("PRAGMA journal_mode").fetchone()
        if str(mode).lower() == "wal":
            return None
        reader.execute("BEGIN")
        # The first read takes the SHARED lock (rolling back a crashed writer's journal
        # first) and holds it to the end of the transaction.
        description = _describe(reader)
        ledger_mark = _last_deletion_record(reader)
        (pages,) = reader.execute("PRAGMA page_count").fetchone()
        (page_size,) = reader.execute("PRAGMA page_size").fetchone()
        # Closing any descriptor of the file drops every POSIX lock this process holds on
        # it, SQLite's SHARED one included: this one closes only after the COMMIT.
        with path.open("rb", buffering=0) as plain:
            size, digest, read = _encrypt_stream(
                primitive,
                plain,
                target,
                associated,
                copies,
                before_sync=lambda: reader.execute("COMMIT"),
            )
    finally:
        reader.close()
    if read != pages * page_size:
        raise sqlite3.DatabaseError(
            f"read {read} bytes of {path}, which holds {pages} pages of {page_size}"
        )
    return size, digest, read, description, ledger_mark


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
