"""Restoring a backup over the live SQLite database: stop-the-world, the old file kept aside.

Refused while any other process holds the live database (or its ``-wal``/``-shm``) open —
``afspraak serve``, the job consumer, a shell — as seen in ``/proc`` (run it as the
server's user or root, or it cannot see their files). The backup is decrypted and checked
beside the live file first (a tampered, truncated or newer-schema backup changes
nothing); then the live file and its ``-wal``/``-shm`` are renamed to
``<name>.replaced-<UTC time>`` and the restored file takes the live name. The restore is
audited in the database that is live afterwards (the restored one).
"""

import os
import secrets
from pathlib import Path
from typing import Any

from django.db import connection
from django.utils import timezone

from afspraak.audit.context import AuditContext
from afspraak.audit.models import Outcome
from afspraak.audit.trail import record
from afspraak.backups.backup import decrypt_backup_into, live_database_path
from afspraak.backups.errors import BackupError

_COMPANIONS = ("", "-wal", "-shm")


def processes_using(path: Path) -> list[int]:
    """Return the ids of the other processes that hold ``path`` or its -wal/-shm open."""
    names = {f"{path}{suffix}" for suffix in _COMPANIONS}
    holders = []
    for descriptors in Path("/proc").glob("[0-9]*/fd"):
        pid = int(descriptors.parent.name)
        if pid == os.getpid():
            continue
        try:
            opened = {os.readlink(entry) for entry in descriptors.iterdir()}
        except OSError:
            # Gone meanwhile, or another user's process this one may not inspect.
            continue
        if opened & names:
            holders.append(pid)
    return sorted(holders)


def _refuse_while_in_use(live: Path) -> None:
    holders = processes_using(live)
    if holders:
        raise BackupError(
            f"the live database is open in process {', '.join(map(str, holders))}: stop "
            "`afspraak serve` and the job consumer first (nothing was changed)"
        )


def replace_live_database(
    context: AuditContext, backup_id: str, *, source: str | None = None
) -> dict[str, Any]:
    """Put ``backup_id``'s database in the live file's place, keeping the old file aside."""
    live = live_database_path()
    if live is None or not live.is_file():
        raise BackupError("there is no live SQLite database file to replace")
    connection.close()
    restored = live.with_name(f".{live.name}.restore-{secrets.token_hex(4)}")
    try:
        _refuse_while_in_use(live)
        manifest = decrypt_backup_into(backup_id, restored, source)
        # Again just before the swap: a server started meanwhile would keep the old file.
        _refuse_while_in_use(live)
    except BackupError as error:
        restored.unlink(missing_ok=True)
        record(
            "backups.restore.failed",
            context=context,
            outcome=Outcome.FAILURE,
            data={"backup": backup_id, "replace_live": True, "reason": str(error)[:200]},
        )
        raise
    aside = live.with_name(f"{live.name}.replaced-{timezone.now():%Y%m%dT%H%M%SZ}")
    for suffix in _COMPANIONS:
        current = Path(f"{live}{suffix}")
        if current.exists():
            current.rename(Path(f"{aside}{suffix}"))
    restored.rename(live)
    connection.close()
    record(
        "backups.restore.completed",
        context=context,
        data={"backup": backup_id, "replace_live": True, "size": live.stat().st_size},
    )
    return manifest | {"kept_aside": str(aside)}
