"""``afspraak alerts``: list the alerts past their review deadline, and escalate them."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from afspraak.audit.alerts import escalate_overdue, overdue_alerts, review_deadline
from afspraak.audit.outbox import deliver_due


class Command(BaseCommand):
    help = "List the security alerts nobody reviewed in time, or escalate them by e-mail."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        actions.add_parser("overdue", help="list open alerts past their review deadline")
        actions.add_parser(
            "escalate", help="e-mail the security contacts about each overdue alert (once)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # Events committed but not yet looked at by the rules are looked at first.
        deliver_due()
        if options["action"] == "escalate":
            escalated = escalate_overdue()
            self.stdout.write(f"Escalated {len(escalated)} overdue alert(s).")
            return
        overdue = overdue_alerts()
        if not overdue:
            self.stdout.write("No alert is past its review deadline.")
            return
        now = timezone.now()
        for alert in overdue:
            late = now - alert.raised_at - review_deadline(alert)
            state = "escalated" if alert.escalated_at else "not escalated yet"
            self.stdout.write(
                f"{alert.public_id}  {alert.severity:8}  {alert.rule_id}  {alert.subject}  "
                f"raised {alert.raised_at:%Y-%m-%d %H:%M} UTC, "
                f"{int(late.total_seconds() // 60)} min late, {state}"
            )
