"""``afspraak audit``: verify the tamper-evident audit chain, and export its head."""

import json
import re
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from afspraak.audit.chain import export_head, verify_chain
from afspraak.audit.outbox import deliver_due

_HEAD = re.compile(r"^(?P<sequence>[1-9][0-9]{0,17}):(?P<mac>[0-9a-f]{64})$")


class Command(BaseCommand):
    help = "Verify the audit chain, or write its head to the SIEM stream."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        verify = actions.add_parser(
            "verify", help="walk the chain and name the first broken link (exit 1 if any)"
        )
        verify.add_argument(
            "--head",
            metavar="SEQUENCE:MAC",
            help="a head the SIEM received (audit.chain.head): the table must still hold it",
        )
        verify.add_argument("--json", action="store_true", help="one JSON object on stdout")
        actions.add_parser("head", help="write the chain head to the SIEM stream now and print it")

    def handle(self, *args: Any, **options: Any) -> None:
        # Events committed but not yet linked are linked first, so the walk sees them all.
        deliver_due()
        if options["action"] == "head":
            head = export_head()
            self.stdout.write("The chain is empty." if head is None else f"{head[0]}:{head[1]}")
            return
        head = None
        if options["head"]:
            found = _HEAD.match(options["head"])
            if found is None:
                raise CommandError(
                    "--head must be SEQUENCE:MAC as the SIEM received it, e.g. 120:3f2a… "
                    "(a positive number, a colon, 64 lower-case hex digits)"
                )
            head = (int(found["sequence"]), found["mac"])
        report = verify_chain(head=head)
        if options["json"]:
            document = {
                "intact": report.intact,
                "links_checked": report.links_checked,
                "first_break": report.first_break,
            }
            self.stdout.write(json.dumps(document))
        elif report.intact:
            self.stdout.write(f"The audit chain is intact: {report.links_checked} links checked.")
        if not report.intact:
            raise CommandError(
                f"The audit chain is broken after {report.links_checked} good links: "
                f"{report.first_break}."
            )
