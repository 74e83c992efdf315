# ruff: noqa: N999  (Django names a command after its module: this one must be "access-review")
"""``afspraak access-review``: open a campaign by hand, show the campaigns and their state,
and check a completed campaign's sealed report (control O1; docs/runbooks/access-reviews.md)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from afspraak.audit.context import AuditContext
from afspraak.compliance.models import ReviewCampaign, ReviewDecision
from afspraak.compliance.reviews import is_report_intact, start_review_campaign
from afspraak.errors import DomainError


class Command(BaseCommand):
    help = "Open an access review, list the reviews, or verify a completed review's report."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        actions.add_parser("start", help="open a campaign now (the daily job opens them when due)")
        actions.add_parser("status", help="list the campaigns, pending items and report hashes")
        verify = actions.add_parser("verify", help="check a completed campaign's report")
        verify.add_argument("campaign")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "start":
            try:
                campaign = start_review_campaign(AuditContext.system())
            except DomainError as error:
                raise CommandError(error.message) from error
            self.stdout.write(f"opened {campaign.public_id}: {campaign.items.count()} items")
        elif action == "status":
            for campaign in ReviewCampaign.objects.order_by("-opened_at")[:12]:
                pending = campaign.items.filter(decision=ReviewDecision.PENDING).count()
                state = (
                    f"completed {campaign.completed_at:%Y-%m-%d} sha256 {campaign.report_sha256}"
                    if campaign.completed_at
                    else f"open, {pending} pending, due {campaign.due_at:%Y-%m-%d}"
                    + (" OVERDUE" if campaign.is_overdue() else "")
                )
                self.stdout.write(
                    f"{campaign.public_id} opened {campaign.opened_at:%Y-%m-%d}: {state}"
                )
        else:
            found = ReviewCampaign.objects.filter(public_id=options["campaign"]).first()
            if found is None or found.completed_at is None:
                raise CommandError(f"no completed campaign {options['campaign']}")
            if not is_report_intact(found):
                raise CommandError(f"{found.public_id}: the report does not match its seal")
            self.stdout.write(f"{found.public_id}: report intact ({found.report_sha256})")
