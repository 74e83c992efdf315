"""Run pgBackRest and the PostgreSQL tools, as the server's system user when Afspraak is root.

The one place that starts them, so the certification of deletions (which reads
``pgbackrest info``) and the commands driving backups, restores and drills run them alike.
"""

import json
import os
import subprocess
from typing import Any

from django.conf import settings

from afspraak.backups.errors import BackupError

COMMAND_TIMEOUT = 600
_OUTPUT_CHARS = 600


def system_user_prefix() -> list[str]:
    """Return the prefix that runs a command as the PostgreSQL system user (when root)."""
    # pg_ctl refuses root, and pgBackRest's files must belong to the server's user.
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", settings.AFSPRAAK_PGBACKREST_SYSTEM_USER, "--"]


def run_tool(command: list[str], what: str, timeout: int = COMMAND_TIMEOUT) -> str:
    """Run ``command``; return its output, or raise BackupError naming ``what`` failed."""
    try:
        result = subprocess.run(  # noqa: S603 - fixed tools, arguments we build
            [*system_user_prefix(), *command],
            capture_output=True,
            text=True,
            check=False,
            cwd="/",
            timeout=timeout,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise BackupError(f"{what} could not run: {error}") from None
    if result.returncode != 0:
        output = (result.stderr.strip() or result.stdout.strip())[-_OUTPUT_CHARS:]
        raise BackupError(f"{what} failed (exit {result.returncode}): {output}")
    return result.stdout


def run_pgbackrest(*arguments: str, timeout: int = COMMAND_TIMEOUT) -> str:
    """Run pgBackRest on the configured stanza; return its output."""
    return run_tool(
        [
            "pgbackrest",
            f"--config-path={settings.AFSPRAAK_PGBACKREST_CONFIG_PATH}",
            f"--stanza={settings.AFSPRAAK_PGBACKREST_STANZA}",
            *arguments,
        ],
        f"pgbackrest {arguments[0]}",
        timeout,
    )


def stanza_info() -> dict[str, Any]:
    """Return ``pgbackrest info --output=json`` for the configured stanza."""
    stanzas = json.loads(run_pgbackrest("info", "--output=json"))
    for stanza in stanzas:
        if stanza.get("name") == settings.AFSPRAAK_PGBACKREST_STANZA:
            return dict(stanza)
    raise BackupError(f"pgBackRest knows no stanza {settings.AFSPRAAK_PGBACKREST_STANZA!r}")
