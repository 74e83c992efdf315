"""Reviewers of the security tests: staff in good standing (or lacking one element of it),
logged in with their second factor, and re-authenticated unless a test says otherwise."""

from typing import Any

from afspraak.compliance.tests.staffing import staff_member
from afspraak.testing.logins import log_in_with_second_factor

# What a staff member needs to reach customer data besides a second factor (P1, P2, O4),
# with the reason the staff gate gives when it is missing.
STANDING_ELEMENTS = {
    "agreement": "staff_agreement_missing",
    "policy": "staff_policy_not_acknowledged",
    "training": "staff_training_missing",
}


def reviewer_client(client: Any, *, missing: str = "", reauthenticated: bool = True) -> Any:
    """Log ``client`` in as a new staff member lacking ``missing``; the user is ``client.staff``."""
    staff = staff_member(missing=missing)
    log_in_with_second_factor(client, staff, reauthenticated=reauthenticated)
    client.staff = staff
    return client
