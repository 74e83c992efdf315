"""Encrypted backups of the embedded (SQLite) installation: run, list, verify, restore, prune.

A run encrypts the database (its file in one pass, ``snapshot.encrypt_live_database``)
and the job queue (a copy by SQLite's online backup API) under the backup keyset
(``keys.py``) bound to the backup's id and file name; the one pass writes the primary's
ciphertext and a second directory's together, an S3 location gets the finished file;
last comes the manifest, in every location. A backup counts
only when every location holds its manifest and ciphertexts whose SHA-256 matches it,
so a run killed at any moment leaves nothing that is listed; the next run (or prune)
clears what it left. One run or prune at a time (a lock file in the primary location).
Every run, prune, restore and failure is audited (``backups.*`` in the catalogue).
"""

import fcntl
import json
import os
import secrets
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import tink
from django.conf import settings
from django.db import connection
from django.utils import timezone

from afspraak.audit.context import AuditContext
from afspraak.audit.models import Outcome
from afspraak.audit.trail import record
from afspraak.backups import snapshot
from afspraak.backups.certification import certify_deletions
from afspraak.backups.errors import BackupError
from afspraak.backups.keys import streaming_primitive, wrapped_backup_keyset
from afspraak.backups.locations import MANIFEST, DirectoryLocation, Location, configured_locations
from afspraak.backups.manifests import created_at_of, read_manifest

FORMAT = 1
# What a backup holds: the application's database, and the job queue when it is SQLite.
DATABASE = "database"
JOBS = "jobs"


def new_backup_id(moment: datetime) -> str:
    """Return a new backup id: its UTC time (sortable) and a random suffix."""
    return f"{moment.astimezone(UTC):%Y%m%dT%H%M%S}Z-{secrets.token_hex(4)}"


def _associated_data(backup_id: str, name: str) -> bytes:
    # Binds each ciphertext to its backup and file: one swapped for another is refused.
    return f"afspraak backup {backup_id} {name}".encode()


def _object_name(kind: str) -> str:
    return f"{kind}.sqlite3.enc"


def _require_sqlite() -> None:
    if connection.vendor != "sqlite":
        raise BackupError(
            "afspraak backup covers the embedded SQLite database; PostgreSQL is backed up "
            "by pgBackRest (docs/runbooks/backups.md)"
        )


@contextmanager
def _exclusive() -> Iterator[None]:
    """Hold the lock that lets one run or prune work on the locations at a time."""
    root: Path = settings.AFSPRAAK_BACKUP_DIR
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    with (root / ".lock").open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError("another backup run or prune is in progress") from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _work_dir() -> Path:
    return Path(settings.AFSPRAAK_BACKUP_DIR) / ".work"


def _clear_leftovers(locations: list[Location]) -> list[str]:
    """Remove what killed runs left (no manifest); call it holding the lock."""
    shutil.rmtree(_work_dir(), ignore_errors=True)
    cleared = []
    for location in locations:
        for backup_id in sorted(location.backup_ids()):
            if read_manifest(location, backup_id) is None:
                location.delete(backup_id)
                cleared.append(f"{location.name}:{backup_id}")
    return cleared


def run_backup(context: AuditContext) -> dict[str, Any]:
    """Back up the database and job queue, encrypted, to every location; return the manifest."""
    _require_sqlite()
    locations = configured_locations()
    with _exclusive():
        _clear_leftovers(locations)
        backup_id = new_backup_id(timezone.now())
        work = _work_dir() / backup_id
        stage = "start"
        try:
            work.mkdir(parents=True, mode=0o700)
            stage = "keyset"
            wrapped = wrapped_backup_keyset()
            primitive = streaming_primitive(wrapped)
            files: dict[str, dict[str, Any]] = {}
            description: dict[str, Any] = {}
            ledger_mark = 0
            sources = [(DATABASE, None), (JOBS, snapshot.job_queue_file())]
            # Directories beyond the primary get the ciphertext from the encryption itself,
            # as it is written; other locations (S3) get the finished file afterwards.
            teed = [loc for loc in locations[1:] if isinstance(loc, DirectoryLocation)]
            for kind, source in sources:
                if kind == JOBS and source is None:
                    continue
                name = _object_name(kind)
                associated = _associated_data(backup_id, name)
                with ExitStack() as receiving:
                    copies = []
                    for directory in teed:
                        stage = f"write to {directory.name}"
                        copies.append(receiving.enter_context(directory.receive(backup_id, name)))
                    stage = f"encrypt {kind} into " + ", ".join(
                        written.name for written in [locations[0], *teed]
                    )
                    # The live database file in one pass; an in-memory one, or one in WAL
                    # mode, and the job queue through a copy by the online backup API.
                    live = live_database_path() if kind == DATABASE else None
                    streamed = (
                        snapshot.encrypt_live_database(
                            primitive, live, work / name, associated, copies
                        )
                        if live is not None
                        else None
                    )
                    if streamed is not None:
                        size, digest, plain_size, described, mark = streamed
                    else:
                        size, digest, plain_size, described, mark = _copy_and_encrypt(
                            primitive,
                            source,
                            (work / f"{kind}.sqlite3", work / name),
                            associated,
                            copies,
                        )
                if kind == DATABASE:
                    description = described
                    ledger_mark = mark
                files[kind] = {
                    "object": name,
                    "size": size,
                    "sha256": digest,
                    "plain_size": plain_size,
                    "row_counts": described["row_counts"],
                }
            manifest = {
                "format": FORMAT,
                "id": backup_id,
                "created_at": timezone.now().isoformat(),
                "engine": "sqlite",
                "schema": description["schema"],
                "row_counts": description["row_counts"],
                # The ledger records this copy already holds: a deletion noted in one of
                # them had committed before the copy, so this backup lacks its data.
                "deletion_ledger_mark": ledger_mark,
                "size": sum(entry["size"] for entry in files.values()),
                "files": files,
                "keyset": wrapped,
                "locations": [location.name for location in locations],
            }
            for location in locations[1:]:
                if location in teed:
                    continue
                stage = f"write to {location.name}"
                for entry in files.values():
                    location.put_file(backup_id, entry["object"], work / entry["object"])
            stage = "write to primary"
            primary = locations[0]
            # configured_locations() always puts the primary directory first.
            if not isinstance(primary, DirectoryLocation):
                raise BackupError("the first backup location must be the primary directory")
            for entry in files.values():
                primary.move_in(backup_id, entry["object"], work / entry["object"])
            # The manifests last, the primary's very last: until then nothing is listed.
            encoded = json.dumps(manifest, indent=2, sort_keys=True).encode()
            for location in [*locations[1:], primary]:
                stage = f"write manifest to {location.name}"
                location.put_bytes(backup_id, MANIFEST, encoded)
        except Exception as error:
            _discard(locations, backup_id)
            record(
                "backups.backup.failed",
                context=context,
                outcome=Outcome.FAILURE,
                data={"backup": backup_id, "stage": stage, "error": type(error).__name__},
            )
            if isinstance(error, BackupError):
                raise
            raise BackupError(f"backup {backup_id} failed at {stage}: {error}") from error
        finally:
            shutil.rmtree(work, ignore_errors=True)
    record(
        "backups.backup.completed",
        context=context,
        data={
            "backup": backup_id,
            "size": manifest["size"],
            "locations": manifest["locations"],
            "files": {kind: entry["size"] for kind, entry in files.items()},
        },
    )
    return manifest


def _copy_and_encrypt(
    primitive: Any,
    source: Path | None,
    paths: tuple[Path, Path],
    associated: bytes,
    copies: list[BinaryIO],
) -> tuple[int, str, int, dict[str, Any], int]:
    """Copy ``source`` (None: the live database) with the online backup API, then encrypt it."""
    copy, target = paths
    if source is None:
        snapshot.copy_live_database(copy)
    else:
        snapshot.copy_sqlite_file(source, copy)
    described = snapshot.describe(copy)
    mark = snapshot.last_deletion_record(copy) if source is None else 0
    size, digest = snapshot.encrypt_file(primitive, copy, target, associated, copies)
    plain_size = copy.stat().st_size
    copy.unlink()
    return size, digest, plain_size, described, mark


def _discard(locations: list[Location], backup_id: str) -> None:
    # Best effort: what stays is incomplete (no manifest), never listed, and the next run
    # or prune removes it.
    for location in locations:
        try:
            if backup_id in location.backup_ids():
                location.delete(backup_id)
        except (BackupError, OSError):
            continue


def _check_copy(location: Location, manifest: dict[str, Any]) -> list[str]:
    """Return what is wrong with ``location``'s copy of the backup ``manifest`` describes."""
    problems = []
    for kind, entry in manifest.get("files", {}).items():
        try:
            with location.open(manifest["id"], entry["object"]) as stream:
                size, digest = snapshot.sha256_of(stream)
        except BackupError as error:
            problems.append(str(error))
            continue
        if (size, digest) != (entry["size"], entry["sha256"]):
            problems.append(f"{location.name}: the {kind} ciphertext does not match its checksum")
    return problems


def verify_backup(backup_id: str) -> dict[str, Any]:
    """Check every location's copy of ``backup_id``; return the manifest, or raise BackupError."""
    problems = []
    manifest: dict[str, Any] | None = None
    for location in configured_locations():
        theirs = read_manifest(location, backup_id)
        if theirs is None:
            problems.append(f"{location.name}: no complete copy of {backup_id}")
            continue
        if manifest is not None and theirs != manifest:
            problems.append(f"{location.name}: its manifest differs from the primary's")
            continue
        manifest = manifest or theirs
        problems.extend(_check_copy(location, theirs))
    if problems or manifest is None:
        raise BackupError(f"backup {backup_id} is not intact: " + "; ".join(problems))
    return manifest


def list_backups() -> list[dict[str, Any]]:
    """Return the manifests of the backups complete and verified in every location, oldest first."""
    locations = configured_locations()
    candidates = set.intersection(*(location.backup_ids() for location in locations))
    listed = []
    for backup_id in sorted(candidates):
        try:
            listed.append(verify_backup(backup_id))
        except BackupError:
            continue
    return listed


def _refuse_newer_schema(applied: set[tuple[str, str]], backup_id: str) -> None:
    unknown = snapshot.unknown_migrations(applied)
    if unknown:
        raise BackupError(
            f"backup {backup_id} comes from a newer schema than this code knows "
            f"({', '.join(unknown[:5])}): restore it with that version of Afspraak"
        )


def live_database_path() -> Path | None:
    name = str(settings.DATABASES["default"]["NAME"])
    return None if name.startswith("file:") or name == ":memory:" else Path(name).resolve()


def restore_backup(
    context: AuditContext, backup_id: str, target: Path, *, source: str | None = None
) -> dict[str, Any]:
    """Restore ``backup_id``'s database into the new file ``target``; return the manifest.

    A tampered or truncated backup, or one from a newer schema, is refused before
    ``target`` exists: the plaintext goes to a temporary file beside it and is linked
    into place only once it decrypted whole and checked out.
    """
    target = target.resolve()
    try:
        manifest = decrypt_backup_into(backup_id, target, source)
    except BackupError as error:
        record(
            "backups.restore.failed",
            context=context,
            outcome=Outcome.FAILURE,
            data={"backup": backup_id, "reason": str(error)[:200]},
        )
        raise
    record(
        "backups.restore.completed",
        context=context,
        data={"backup": backup_id, "size": target.stat().st_size},
    )
    return manifest


def decrypt_backup_into(backup_id: str, target: Path, source: str | None) -> dict[str, Any]:
    """Decrypt ``backup_id``'s database into the new file ``target`` (unaudited; see restore)."""
    if target == live_database_path():
        raise BackupError(
            "refusing to restore over the live database with --to: restore into a new "
            "file, or use --replace-live (docs/runbooks/backups.md)"
        )
    if target.exists() or target.is_symlink():
        raise BackupError(f"{target} exists: restore only into a new file")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent} is not a directory")
    locations = configured_locations()
    if source is not None:
        locations = [location for location in locations if location.name == source]
        if not locations:
            raise BackupError(f"no backup location is called {source!r}")
    for location in locations:
        manifest = read_manifest(location, backup_id)
        if manifest is not None:
            break
    else:
        raise BackupError(f"no location holds a complete backup {backup_id}")
    if manifest.get("format") != FORMAT or manifest.get("engine") != "sqlite":
        raise BackupError(f"backup {backup_id} is not an Afspraak SQLite backup of this format")
    _refuse_newer_schema(set(manifest.get("schema", {}).items()), backup_id)
    entry = manifest["files"][DATABASE]
    primitive = streaming_primitive(manifest["keyset"])
    ciphertext = target.with_name(f".{target.name}.{secrets.token_hex(4)}.ciphertext")
    plaintext = target.with_name(f".{target.name}.{secrets.token_hex(4)}.partial")
    try:
        # The ciphertext comes down first and is checked against the manifest, so a
        # location cannot feed the decryption anything but the bytes the backup recorded.
        descriptor = os.open(ciphertext, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with (
            os.fdopen(descriptor, "wb") as output,
            location.open(backup_id, entry["object"]) as stream,
        ):
            shutil.copyfileobj(stream, output, 1 << 20)
        with ciphertext.open("rb") as downloaded:
            if snapshot.sha256_of(downloaded) != (entry["size"], entry["sha256"]):
                raise BackupError(
                    f"backup {backup_id} in {location.name} does not match its checksum "
                    "(tampered or truncated): nothing was restored"
                )
        try:
            with ciphertext.open("rb") as encrypted:
                snapshot.decrypt_file(
                    primitive,
                    encrypted,
                    plaintext,
                    _associated_data(backup_id, entry["object"]),
                )
        except tink.TinkError:
            raise BackupError(
                f"backup {backup_id} does not decrypt (tampered, truncated or another "
                "keyset): nothing was restored"
            ) from None
        _check_restored(plaintext, backup_id)
        # A hard link fails if the name was taken meanwhile: never overwrite.
        try:
            os.link(plaintext, target)
        except FileExistsError:
            raise BackupError(f"{target} appeared meanwhile: nothing was restored") from None
    finally:
        ciphertext.unlink(missing_ok=True)
        plaintext.unlink(missing_ok=True)
    return manifest


def _check_restored(path: Path, backup_id: str) -> None:
    try:
        database = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            (result,) = database.execute("PRAGMA quick_check").fetchone()
        finally:
            database.close()
    except sqlite3.DatabaseError as error:
        raise BackupError(f"backup {backup_id} is not a SQLite database: {error}") from None
    if result != "ok":
        raise BackupError(f"backup {backup_id} failed SQLite's integrity check: {result}")
    # The decrypted database itself is authoritative, whatever its manifest says.
    _refuse_newer_schema(snapshot.applied_migrations(path), backup_id)


def prune_backups(context: AuditContext) -> dict[str, list[str]]:
    """Delete old backups and killed runs' leftovers everywhere, then certify deletions."""
    _require_sqlite()
    retention = timedelta(days=settings.AFSPRAAK_BACKUP_RETENTION_DAYS)
    # A backup that would pass the retention before the next scheduled prune goes now:
    # none outlives it (deleted data is gone from backups within 7 days, control D2), and
    # the oldest kept is at least the retention less one interval old (D5).
    interval = timedelta(minutes=settings.AFSPRAAK_BACKUP_INTERVAL_MINUTES)
    cutoff = timezone.now() + interval - retention
    pruned: dict[str, list[str]] = {}
    failures: dict[str, str] = {}
    locations = configured_locations()
    with _exclusive():
        shutil.rmtree(_work_dir(), ignore_errors=True)
        for location in locations:
            gone: list[str] = []
            try:
                for backup_id in sorted(location.backup_ids()):
                    manifest = read_manifest(location, backup_id)
                    created = created_at_of(manifest) if manifest else None
                    if created is None or created < cutoff:
                        location.delete(backup_id)
                        gone.append(backup_id)
            except (BackupError, OSError) as error:
                failures[location.name] = str(error)[:200]
            pruned[location.name] = gone
    record(
        "backups.backup.pruned",
        context=context,
        data={
            "retention_days": settings.AFSPRAAK_BACKUP_RETENTION_DAYS,
            "deleted": pruned,
        },
    )
    # What the prune took away may complete deletions: certify them (a failed location
    # keeps its backups, so nothing those could hold is certified).
    certify_deletions(context)
    if failures:
        record(
            "backups.prune.failed",
            context=context,
            outcome=Outcome.FAILURE,
            data={"locations": sorted(failures)},
        )
        raise BackupError(
            "pruning failed in " + "; ".join(f"{name}: {why}" for name, why in failures.items())
        )
    return pruned
