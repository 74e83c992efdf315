"""``afspraak backup``: one interface for both databases (docs/runbooks/backups.md).

On SQLite it runs Afspraak's own encrypted backups; on PostgreSQL it drives pgBackRest.
"""

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from afspraak.audit.context import AuditContext
from afspraak.backups import pgbackrest
from afspraak.backups.backup import (
    list_backups,
    prune_backups,
    restore_backup,
    run_backup,
    verify_backup,
)
from afspraak.backups.drill import run_sqlite_drill
from afspraak.backups.errors import BackupError
from afspraak.backups.replace_live import replace_live_database
from afspraak.backups.status import backup_status, last_drill


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def _summary(manifest: dict[str, Any]) -> dict[str, Any]:
    # The wrapped keyset and per-table counts stay out of the listing: `verify` shows them.
    return {key: manifest[key] for key in ("id", "created_at", "size", "schema", "locations")} | {
        "files": {kind: entry["size"] for kind, entry in manifest["files"].items()}
    }


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise BackupError(
            f"--to-time must be an ISO 8601 time with its offset, e.g. "
            f"2026-12-04T21:30:00+00:00, not {text!r}"
        ) from None
    if moment.tzinfo is None:
        raise BackupError(f"--to-time needs an offset (e.g. +00:00): {text!r}")
    return moment


class Command(BaseCommand):
    help = "Back up, list, verify, restore, drill and prune backups (SQLite or pgBackRest)."

    def add_arguments(self, parser: CommandParser) -> None:
        output = CommandParser(add_help=False)
        output.add_argument("--json", action="store_true", help="print JSON for machines")
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        run = actions.add_parser("run", parents=[output], help="take a backup to every location")
        run.add_argument(
            "--full",
            action="store_true",
            help="PostgreSQL: a full backup whatever the schedule (SQLite backups are always full)",
        )
        actions.add_parser(
            "list", parents=[output], help="backups complete and verified in every location"
        )
        verify = actions.add_parser(
            "verify", parents=[output], help="check every location's copy of a backup"
        )
        verify.add_argument("backup_id", metavar="ID")
        restore = actions.add_parser(
            "restore",
            parents=[output],
            help="restore a backup into a new SQLite file or PostgreSQL data directory",
        )
        restore.add_argument(
            "backup_id", metavar="ID", nargs="?", help="required on SQLite; PostgreSQL: latest"
        )
        restore.add_argument("--to", dest="target", metavar="PATH", type=Path)
        restore.add_argument(
            "--replace-live",
            action="store_true",
            help="SQLite: replace the live database (server stopped; the old file kept aside)",
        )
        restore.add_argument(
            "--confirm", metavar="ID", help="with --replace-live: the backup id, typed again"
        )
        restore.add_argument(
            "--from",
            dest="source",
            metavar="LOCATION",
            help="primary or second; on PostgreSQL repo1 or repo2 (default: any)",
        )
        restore.add_argument(
            "--to-time",
            metavar="TIME",
            help="PostgreSQL: recover to this moment (ISO 8601 with offset)",
        )
        actions.add_parser(
            "prune", parents=[output], help="delete backups older than the retention"
        )
        actions.add_parser(
            "drill",
            parents=[output],
            help="restore the newest backup of every location into scratch and check it",
        )
        actions.add_parser("status", parents=[output], help="the newest backup and the last drill")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if connection.vendor == "postgresql":
                result, text = _on_postgresql(action, options)
            else:
                result, text = _on_sqlite(action, options)
        except BackupError as error:
            raise CommandError(str(error)) from None
        if action == "list" and not options["json"]:
            text += "\n" + _last_drill_text(last_drill())
        self.stdout.write(json.dumps(result, sort_keys=True) if options["json"] else text)
        if action == "drill" and not result["passed"]:
            raise CommandError("the restore drill failed (audited as backups.drill.failed)")


def _on_sqlite(action: str, options: dict[str, Any]) -> tuple[Any, str]:
    context = AuditContext.system()
    if action == "run":
        result: Any = _summary(run_backup(context))
        text = f"Backup {result['id']} written ({_megabytes(result['size'])}) to " + (
            ", ".join(result["locations"])
        )
    elif action == "list":
        result = [_summary(manifest) for manifest in list_backups()]
        text = _listing_text(result)
    elif action == "verify":
        manifest = verify_backup(options["backup_id"])
        result = _summary(manifest) | {"row_counts": manifest["row_counts"]}
        text = f"Backup {result['id']} is intact in " + ", ".join(result["locations"])
    elif action == "restore":
        if options["backup_id"] is None:
            raise BackupError("name the backup to restore: afspraak backup restore ID --to PATH")
        if options["to_time"]:
            raise BackupError("--to-time is for PostgreSQL: a SQLite backup restores as taken")
        if options["replace_live"]:
            if options["target"] is not None:
                raise BackupError("--to and --replace-live exclude each other")
            _confirm_replacement(options["backup_id"], options["confirm"])
            manifest = replace_live_database(
                context, options["backup_id"], source=options["source"]
            )
            result = _summary(manifest) | {"kept_aside": manifest["kept_aside"]}
            text = (
                f"Backup {result['id']} is now the live database; the old one is kept as "
                f"{result['kept_aside']}"
            )
            return result, text
        if options["target"] is None:
            raise BackupError("say where to restore: --to PATH (a new file) or --replace-live")
        manifest = restore_backup(
            context, options["backup_id"], options["target"], source=options["source"]
        )
        result = _summary(manifest) | {"restored_to": str(options["target"])}
        text = f"Backup {result['id']} restored to {result['restored_to']}"
    elif action == "prune":
        result = prune_backups(context)
        text = "\n".join(f"{location}: {len(gone)} deleted" for location, gone in result.items())
    elif action == "drill":
        result = run_sqlite_drill(context)
        text = _drill_text(result)
    else:
        result = backup_status()
        text = _status_text(result)
    return result, text


def _on_postgresql(action: str, options: dict[str, Any]) -> tuple[Any, str]:
    context = AuditContext.system()
    if action == "run":
        result: Any = pgbackrest.run_pg_backup(context, full=options["full"])
        text = "pgBackRest took " + (
            ", ".join(
                f"{backup['type']} backup {backup['id']} in {backup['locations'][0]}"
                for backup in result["backups"]
            )
            or "no new backup"
        )
    elif action == "list":
        result = pgbackrest.list_pg_backups()
        text = _listing_text(result)
    elif action == "verify":
        result = pgbackrest.verify_pg_backup(options["backup_id"])
        text = f"pgBackRest verified the repositories holding {result['id']}: " + ", ".join(
            result["locations"]
        )
    elif action == "restore":
        if options["replace_live"] or options["target"] is None:
            raise BackupError(
                "on PostgreSQL restore into a new data directory with --to and swap it in "
                "by the runbook (docs/runbooks/backups.md)"
            )
        to_time = _moment(options["to_time"]) if options["to_time"] else None
        result = pgbackrest.restore_pg_backup(
            context,
            options["backup_id"],
            options["target"],
            to_time=to_time,
            source=options["source"],
        )
        text = (
            f"Restored into the new data directory {result['restored_to']}: start it on a free "
            "port and check it before use (docs/runbooks/backups.md)"
        )
    elif action == "prune":
        result = pgbackrest.prune_pg_backups(context)
        text = "\n".join(f"{location}: {len(gone)} expired" for location, gone in result.items())
    elif action == "drill":
        result = pgbackrest.run_pg_drill(context)
        text = _drill_text(result)
    else:
        result = backup_status()
        text = _status_text(result)
    return result, text


def _confirm_replacement(backup_id: str, typed: str | None) -> None:
    if typed is None and sys.stdin.isatty():
        typed = input(f"Type the backup id {backup_id} to replace the live database: ").strip()
    if typed != backup_id:
        raise BackupError(
            "not confirmed: --replace-live needs the backup id typed again "
            "(--confirm ID, or at the prompt); nothing was changed"
        )


def _listing_text(listing: list[dict[str, Any]]) -> str:
    return (
        "\n".join(
            f"{item['id']}  {item['created_at']}  {_megabytes(item['size'])}  "
            + ", ".join(item["locations"])
            for item in listing
        )
        or "No complete backups."
    )


def _drill_text(report: dict[str, Any]) -> str:
    lines = [f"Restore drill {'passed' if report['passed'] else 'FAILED'}"]
    for name, figures in report["locations"].items():
        lines.append(
            f"  {name}: backup {figures['backup']}, RTO {figures.get('rto_seconds', '-')} s, "
            f"RPO {figures.get('rpo_seconds', '-')} s"
        )
        lines.extend(f"    {problem}" for problem in figures["problems"])
    return "\n".join(lines)


def _last_drill_text(drill: dict[str, Any] | None) -> str:
    if drill is None:
        return "Last restore drill: never (run `afspraak backup drill`)."
    outcome = "passed" if drill["passed"] else "FAILED"
    return f"Last restore drill: {outcome} at {drill['at']}."


def _status_text(status: dict[str, Any]) -> str:
    newest = status["newest_backup"]
    first = (
        f"Newest backup: {newest['id']} at {newest['created_at']} ({newest['age_seconds']} s ago)"
        if newest
        else "Newest backup: none complete."
    )
    return first + "\n" + _last_drill_text(status["last_drill"])
