"""``afspraak staff``: record staff agreements, policy acknowledgements, training and notes
(controls P1, P2, O4; docs/runbooks/staff-access.md), show who is in good standing, and
let a security reviewer read a staff member's notes (audited)."""

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from afspraak.accounts.models import User
from afspraak.audit.context import AuditContext
from afspraak.compliance import records
from afspraak.compliance.models import TrainingKind
from afspraak.compliance.reminders import queue_training_reminders
from afspraak.compliance.standing import REFUSAL_MESSAGES, latest_training, standing_refusal
from afspraak.errors import DomainError


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD)") from error


def _user(email: str) -> User:
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        raise CommandError(f"no user with e-mail {email}")
    return user


class Command(BaseCommand):
    help = "Record staff agreements, policy acknowledgements, training and notes; show standing."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        agreement = actions.add_parser(
            "agreement", help="record a signed confidentiality agreement"
        )
        agreement.add_argument("email")
        agreement.add_argument("--version", required=True)
        agreement.add_argument("--signed-on", required=True, metavar="YYYY-MM-DD")
        agreement.add_argument("--sha256", required=True, help="SHA-256 of the signed document")
        publish = actions.add_parser("publish-policy", help="publish a new policy version")
        publish.add_argument("--version", required=True)
        publish.add_argument("--sha256", required=True, help="SHA-256 of the policy document")
        acknowledge = actions.add_parser(
            "acknowledge", help="record an acknowledgement of the current policy"
        )
        acknowledge.add_argument("email")
        training = actions.add_parser("training", help="record a completed training")
        training.add_argument("email")
        training.add_argument("--completed-on", required=True, metavar="YYYY-MM-DD")
        training.add_argument("--kind", choices=TrainingKind.values)
        note = actions.add_parser("note", help="record a disciplinary note (security reviewers)")
        note.add_argument("email")
        note.add_argument("--by", required=True, help="the security reviewer's e-mail")
        note.add_argument("--text", required=True)
        notes = actions.add_parser(
            "notes", help="read a staff member's disciplinary notes (security reviewers)"
        )
        notes.add_argument("email")
        notes.add_argument("--by", required=True, help="the security reviewer's e-mail")
        actions.add_parser("status", help="every staff member's standing")
        actions.add_parser("remind", help="queue the training reminders that are due now")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        context = AuditContext.system()
        try:
            if action == "agreement":
                records.record_agreement(
                    context,
                    _user(options["email"]),
                    version=options["version"],
                    signed_on=_day(options["signed_on"]),
                    document_sha256=options["sha256"],
                )
            elif action == "publish-policy":
                records.publish_policy(
                    context, version=options["version"], document_sha256=options["sha256"]
                )
            elif action == "acknowledge":
                records.acknowledge_policy(context, _user(options["email"]))
            elif action == "training":
                records.record_training(
                    context,
                    _user(options["email"]),
                    completed_on=_day(options["completed_on"]),
                    kind=options["kind"],
                )
            elif action == "note":
                records.record_disciplinary_note(
                    context.acting_as(_user(options["by"])),
                    _user(options["email"]),
                    options["text"],
                )
            elif action == "notes":
                self._notes(context.acting_as(_user(options["by"])), _user(options["email"]))
                return
            elif action == "remind":
                self.stdout.write(f"{queue_training_reminders()} reminders queued")
                return
            else:
                self._status()
                return
        except DomainError as error:
            raise CommandError(error.message) from error
        self.stdout.write("recorded")

    def _notes(self, context: AuditContext, user: User) -> None:
        notes = records.read_disciplinary_notes(context, user)
        if not notes:
            self.stdout.write(f"{user.email}: no disciplinary notes")
        for note in notes:
            when = note.recorded_at.strftime("%Y-%m-%d %H:%M UTC")
            self.stdout.write(f"{note.public_id} {when} by {note.recorded_by.email}: {note.note}")

    def _status(self) -> None:
        staff = User.objects.filter(is_active=True).exclude(is_staff=False, is_superuser=False)
        for user in staff.order_by("email"):
            refusal = standing_refusal(user)
            training = latest_training(user)
            expires = f"training until {training.expires_on}" if training else "no training"
            verdict = REFUSAL_MESSAGES[refusal] if refusal else "in good standing"
            self.stdout.write(f"{user.email}: {verdict} ({expires})")
