"""Whether a staff member is in good standing, for the staff pages that name no organization.

Compliance keeps the staff records (agreement, policy acknowledgement, training; P1, P2,
O4) and its check is the staff gate of ``Access`` for support grants. The operator's own
pages that show or change customer data without an organization's ``Access`` (the
security console, the disclosure reports, the staff access review) ask the same check
here. Security and compliance are siblings that may not import each other, so
compliance hands its check down at start-up (``register_staff_standing``), as it hands
the gate to ``register_gate``; until it has, every staff member is refused (fail closed).
A refusal is audited as the gate's are: ``tenancy.access.denied`` with the same reason.
"""

from collections.abc import Callable
from typing import Any

from afspraak.audit.context import AuditContext
from afspraak.audit.models import Outcome
from afspraak.audit.trail import record
from afspraak.errors import ForbiddenError

# A standing check looks at a user and returns why they may not reach customer data, or None.
StandingCheck = Callable[[Any], str | None]
NO_STANDING_CHECK = "staff_standing_unknown"
_NO_STANDING_CHECK_MESSAGE = "The staff records cannot be checked: no staff page opens."

_checks: dict[str, StandingCheck] = {}
_messages: dict[str, str] = {NO_STANDING_CHECK: _NO_STANDING_CHECK_MESSAGE}


class StaffStandingError(ForbiddenError):
    """A staff member who is not in good standing asked for customer data (audited already)."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def register_staff_standing(name: str, check: StandingCheck, messages: dict[str, str]) -> None:
    """Add the check of a staff member's standing (compliance's, at start-up)."""
    _checks[name] = check
    _messages.update(messages)


def staff_standing_refusal(user: Any) -> str | None:
    """Return why ``user`` may not reach customer data as staff, or None if they may."""
    if not _checks:
        return NO_STANDING_CHECK
    for check in list(_checks.values()):
        reason = check(user)
        if reason:
            return reason
    return None


def require_staff_standing(user: Any, context: AuditContext, *, page: str = "") -> None:
    """Refuse, and audit, a staff member who is not in good standing.

    The refusal is recorded at once: call this before any transaction of the action.
    """
    reason = staff_standing_refusal(user)
    if reason is None:
        return
    data = {"reason": reason, **({"page": page} if page else {})}
    record("tenancy.access.denied", context=context, outcome=Outcome.DENIED, data=data)
    raise StaffStandingError(_messages.get(reason, _NO_STANDING_CHECK_MESSAGE), reason=reason)
