"""The daily security audit: its results go to the audit trail; a regression raises an alert.

A regression is a check that passed in the previous recorded run and fails now. The
``posture.audit.regressed`` event it records is what the detection rule
``afspraak-posture-regression`` (``afspraak.audit.detection``) turns into an alert.
"""

from django.db import transaction
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from afspraak.audit.context import AuditContext
from afspraak.audit.models import AuditEvent, Outcome
from afspraak.audit.trail import record
from afspraak.posture.registry import run_audit, target_from_settings
from afspraak.posture.results import Check, Result, Status

COMPLETED = "posture.audit.completed"
REGRESSED = "posture.audit.regressed"


def _previously_passed() -> set[str]:
    previous = AuditEvent.objects.filter(action=COMPLETED).order_by("-occurred_at", "-id").first()
    return set(previous.data.get("passed", [])) if previous is not None else set()


def record_audit(results: list[tuple[Check, Result]]) -> list[str]:
    """Record one audit run; record a regression for checks that passed last run; return those."""
    failing = [check.name for check, result in results if result.failed]
    passing = [check.name for check, result in results if result.status is not Status.FAIL]
    context = AuditContext.system()
    with transaction.atomic():
        regressed = sorted(_previously_passed() & set(failing))
        record(
            COMPLETED,
            context=context,
            outcome=Outcome.FAILURE if failing else Outcome.SUCCESS,
            data={"passed": passing, "failed": failing},
        )
        if regressed:
            record(REGRESSED, context=context, outcome=Outcome.FAILURE, data={"checks": regressed})
    return regressed


def audit_and_record() -> list[str]:
    """Run every check against the configured endpoint and record it; return the regressions."""
    return record_audit(run_audit(target_from_settings()))


@db_periodic_task(crontab(hour="4", minute="17"))
def daily_security_audit() -> list[str]:
    """Run the security audit every day; a check that stopped passing raises an alert."""
    return audit_and_record()
