"""Compliance checks for ``afspraak security-audit``: each returns a ``CheckResult``."""

from dataclasses import dataclass

from django.utils import timezone

from afspraak.compliance.pentests import PENTEST_MAX_AGE, last_engagement


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: its name, whether it passed, and what it found."""

    name: str
    passed: bool
    detail: str


def no_recent_pentest() -> CheckResult:
    """Fail when no penetration test was performed in the last twelve months (control C1)."""
    name = "no_recent_pentest"
    engagement = last_engagement()
    if engagement is None:
        return CheckResult(name, False, "no penetration test is recorded (afspraak pentest)")
    age = (timezone.now().date() - engagement.performed_on).days
    if age > PENTEST_MAX_AGE.days:
        return CheckResult(
            name,
            False,
            f"the last penetration test ({engagement.firm}, {engagement.performed_on}) "
            f"is {age} days old; one is due every {PENTEST_MAX_AGE.days} days",
        )
    return CheckResult(
        name, True, f"last penetration test {engagement.performed_on} by {engagement.firm}"
    )
