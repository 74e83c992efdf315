"""``afspraak outbox``: see what waits to leave the system, deliver it, retry what failed."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db.models import Count, Q

from afspraak.audit.models import OutboxMessage
from afspraak.audit.outbox import deliver_due, retry_failed


class Command(BaseCommand):
    help = "Show, deliver and retry the messages of the transactional outbox."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        actions.add_parser("status", help="messages waiting, retrying and failed, by topic")
        actions.add_parser("deliver", help="deliver every message that is due, now")
        actions.add_parser(
            "retry", help="give the messages that ran out of attempts a fresh start, then deliver"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "deliver":
            self.stdout.write(f"Delivered {deliver_due()} message(s).")
        elif action == "retry":
            count = retry_failed()
            self.stdout.write(f"{count} failed message(s) made due again.")
            self.stdout.write(f"Delivered {deliver_due()} message(s).")
        self._status()

    def _status(self) -> None:
        pending = Q(delivered_at__isnull=True)
        rows = (
            OutboxMessage.objects.filter(pending)
            .values("topic")
            .annotate(
                waiting=Count("id", filter=Q(failed_at__isnull=True, attempts=0)),
                retrying=Count("id", filter=Q(failed_at__isnull=True, attempts__gt=0)),
                failed=Count("id", filter=Q(failed_at__isnull=False)),
            )
            .order_by("topic")
        )
        if not rows:
            self.stdout.write("Nothing waits in the outbox.")
            return
        self.stdout.write(f"{'topic':<32} {'waiting':>8} {'retrying':>9} {'failed':>7}")
        for row in rows:
            self.stdout.write(
                f"{row['topic']:<32} {row['waiting']:>8} {row['retrying']:>9} {row['failed']:>7}"
            )
        for message in OutboxMessage.objects.filter(pending, failed_at__isnull=False)[:20]:
            self.stdout.write(
                f"failed #{message.pk} {message.topic} after {message.attempts} attempts: "
                f"{message.last_error}"
            )
