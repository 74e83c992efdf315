"""Reading a backup's manifest: the record of what a complete backup holds."""

import json
from datetime import datetime
from typing import Any

from afspraak.backups.locations import MANIFEST, Location


def read_manifest(location: Location, backup_id: str) -> dict[str, Any] | None:
    """Return ``backup_id``'s manifest in ``location``, or None when it has no valid one."""
    raw = location.get_bytes(backup_id, MANIFEST)
    if raw is None:
        return None
    try:
        manifest = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(manifest, dict) or manifest.get("id") != backup_id:
        return None
    return manifest


def created_at_of(manifest: dict[str, Any]) -> datetime | None:
    """Return when the backup of ``manifest`` was completed (None when not a valid time)."""
    try:
        moment = datetime.fromisoformat(str(manifest.get("created_at")))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
