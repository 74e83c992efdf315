"""``afspraak deletion status``: deletions not yet certified permanent, and why (control D2)."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from afspraak.backups.certification import deletion_status


class Command(BaseCommand):
    help = "Show the deletion ledger's records not yet certified permanently deleted."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        status = actions.add_parser("status", help="uncertified deletions and why")
        status.add_argument("--json", action="store_true", help="print JSON for machines")

    def handle(self, *args: Any, **options: Any) -> None:
        pending = deletion_status()
        if options["json"]:
            self.stdout.write(json.dumps(pending, sort_keys=True))
            return
        if not pending:
            self.stdout.write("Every deletion is certified permanently deleted.")
            return
        for entry in pending:
            self.stdout.write(
                f"{entry['id']}  {entry['kind']}  {entry['organization']}  {entry['deleted_at']}"
            )
            for reason in entry["reasons"]:
                self.stdout.write(f"    {reason}")
