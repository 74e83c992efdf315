"""``afspraak subprocessors``: add a subprocessor to the public register (notifying the
subscribed customers) and list the register (control V1; docs/runbooks/subprocessors.md)."""

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from afspraak.audit.context import AuditContext
from afspraak.compliance.subprocessors import add_subprocessor, public_register
from afspraak.errors import DomainError


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD)") from error


class Command(BaseCommand):
    help = "Add a subprocessor (subscribers are e-mailed at once) or list the register."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        add = actions.add_parser("add", help="add a subprocessor, effective 30 days on or later")
        add.add_argument("name")
        add.add_argument("--purpose", required=True)
        add.add_argument("--data", required=True, help="the categories of data it processes")
        add.add_argument("--location", required=True)
        add.add_argument("--agreement-signed-on", required=True, type=_day)
        add.add_argument("--sha256", required=True, help="SHA-256 of the signed agreement")
        add.add_argument("--effective-on", required=True, type=_day)
        actions.add_parser("list", help="print the register")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "add":
            try:
                subprocessor = add_subprocessor(
                    AuditContext.system(),
                    name=options["name"],
                    purpose=options["purpose"],
                    data_categories=options["data"],
                    location=options["location"],
                    agreement_signed_on=options["agreement_signed_on"],
                    document_sha256=options["sha256"],
                    effective_on=options["effective_on"],
                )
            except DomainError as error:
                raise CommandError(error.message) from error
            self.stdout.write(
                f"added {subprocessor.public_id} {subprocessor.name}, "
                f"effective {subprocessor.effective_on}"
            )
            return
        for entry in public_register():
            self.stdout.write(
                f"{entry.public_id}\t{entry.name}\t{entry.location}\t"
                f"effective {entry.effective_on}\t"
                f"agreement {entry.agreement_signed_on} {entry.document_sha256}"
            )
