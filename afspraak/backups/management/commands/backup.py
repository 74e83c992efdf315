"""``afspraak backup``: encrypted backups of the embedded database (docs/runbooks/backups.md)."""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from afspraak.audit.context import AuditContext
from afspraak.backups.backup import (
    list_backups,
    prune_backups,
    restore_backup,
    run_backup,
    verify_backup,
)
from afspraak.backups.drill import run_sqlite_drill
from afspraak.backups.errors import BackupError
from afspraak.backups.status import last_drill


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def _summary(manifest: dict[str, Any]) -> dict[str, Any]:
    # The wrapped keyset and per-table counts stay out of the listing: `verify` shows them.
    return {key: manifest[key] for key in ("id", "created_at", "size", "schema", "locations")} | {
        "files": {kind: entry["size"] for kind, entry in manifest["files"].items()}
    }


class Command(BaseCommand):
    help = "Back up, list, verify, restore and prune encrypted backups."

    def add_arguments(self, parser: CommandParser) -> None:
        output = CommandParser(add_help=False)
        output.add_argument("--json", action="store_true", help="print JSON for machines")
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        actions.add_parser("run", parents=[output], help="take a backup to every location")
        actions.add_parser(
            "list", parents=[output], help="backups complete and verified in every location"
        )
        verify = actions.add_parser(
            "verify", parents=[output], help="check every location's copy of a backup"
        )
        verify.add_argument("backup_id", metavar="ID")
        restore = actions.add_parser(
            "restore", parents=[output], help="restore a backup into a new SQLite file"
        )
        restore.add_argument("backup_id", metavar="ID")
        restore.add_argument("--to", dest="target", required=True, metavar="PATH", type=Path)
        restore.add_argument(
            "--from", dest="source", metavar="LOCATION", help="primary or second (default: any)"
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
        context = AuditContext.system()
        try:
            if action == "run":
                result: Any = _summary(run_backup(context))
                text = f"Backup {result['id']} written ({_megabytes(result['size'])}) to " + (
                    ", ".join(result["locations"])
                )
            elif action == "list":
                result = [_summary(manifest) for manifest in list_backups()]
                text = (
                    "\n".join(
                        f"{item['id']}  {item['created_at']}  {_megabytes(item['size'])}"
                        for item in result
                    )
                    or "No complete backups."
                )
            elif action == "verify":
                manifest = verify_backup(options["backup_id"])
                result = _summary(manifest) | {"row_counts": manifest["row_counts"]}
                text = f"Backup {result['id']} is intact in " + ", ".join(result["locations"])
            elif action == "restore":
                manifest = restore_backup(
                    context, options["backup_id"], options["target"], source=options["source"]
                )
                result = _summary(manifest) | {"restored_to": str(options["target"])}
                text = f"Backup {result['id']} restored to {result['restored_to']}"
            elif action == "prune":
                result = prune_backups(context)
                text = "\n".join(
                    f"{location}: {len(gone)} deleted" for location, gone in result.items()
                )
            elif action == "drill":
                result = run_sqlite_drill(context)
                text = _drill_text(result)
            else:
                result = _status()
                text = _status_text(result)
        except BackupError as error:
            raise CommandError(str(error)) from None
        if action == "list" and not options["json"]:
            text += "\n" + _last_drill_text(last_drill())
        self.stdout.write(json.dumps(result, sort_keys=True) if options["json"] else text)
        if action == "drill" and not result["passed"]:
            raise CommandError("the restore drill failed (audited as backups.drill.failed)")


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


def _status() -> dict[str, Any]:
    backups = list_backups()
    newest = _summary(backups[-1]) if backups else None
    return {"engine": "sqlite", "newest_backup": newest, "last_drill": last_drill()}


def _status_text(status: dict[str, Any]) -> str:
    newest = status["newest_backup"]
    first = (
        f"Newest backup: {newest['id']} at {newest['created_at']}"
        if newest
        else "Newest backup: none complete in every location."
    )
    return first + "\n" + _last_drill_text(status["last_drill"])
