# ruff: noqa: N999  (Django names a command after its module: this one must be "offboard-user")
"""``afspraak offboard-user EMAIL --reason "..."``: deactivate a user and cut every access now."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from afspraak.accounts.models import User
from afspraak.audit.context import AuditContext
from afspraak.tenancy.offboarding import deactivate_user


class Command(BaseCommand):
    help = (
        "Deactivate a user at once: they can no longer log in, every session ends, their "
        "pending invitations are revoked. Every step is audited. The reason "
        "is written to the audit trail: state it without personal details."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="the e-mail address the user logs in with")
        parser.add_argument(
            "--reason", required=True, help='why, for the audit trail (e.g. "left the company")'
        )

    def handle(self, *args: Any, **options: Any) -> None:
        email = options["email"].strip().lower()
        reason = options["reason"].strip()
        if not reason:
            raise CommandError("Give a reason with --reason; it goes into the audit trail.")
        user = User.objects.filter(email=email).first()
        if user is None:
            raise CommandError(f"No user has the e-mail address {email!r}; nothing was changed.")
        try:
            summary = deactivate_user(AuditContext.system(), user, reason=reason)
        except ValueError as error:
            raise CommandError(f"{error}; nothing was changed.") from None
        self.stdout.write(
            f"Deactivated {user.public_id}: {summary.sessions} session(s) ended, "
            f"{summary.invitations} pending invitation(s) revoked, across "
            f"{summary.organizations} organization(s)."
        )
