"""What a detection rule is and what its firing says: shared by the rules and the alerts.

``afspraak.audit.detection`` defines the rules, ``afspraak.audit.alerts`` turns their
firings into alerts; apps define rules of their own (compliance's overdue reviews and
pentest findings).
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from afspraak.audit.models import AuditEvent


@dataclass(frozen=True)
class Firing:
    """A rule fired: about what (``subject``), on which events, for which organization."""

    subject: str
    evidence: list[int] = field(default_factory=list)
    organization_public_id: str = ""
    detail: str = ""
    # A rule whose findings differ in gravity sets it per firing; empty: the rule's level.
    severity: str = ""


@dataclass(frozen=True)
class Rule:
    """One detection rule: its Sigma-style description and the test that makes it fire.

    An event rule has ``actions`` (the codes it looks at) and ``evaluate`` (given one
    new event, the firing or None); a sweep rule has ``sweep`` (the firings found now)
    and runs from the job named in ``logsource``.
    """

    id: str
    title: str
    level: str
    logsource: str
    condition: str
    falsepositives: tuple[str, ...]
    actions: frozenset[str] = field(default_factory=frozenset)
    # Codes ending so are looked at too (every deletion, present and future).
    action_suffixes: tuple[str, ...] = ()
    evaluate: Callable[[AuditEvent], Firing | None] | None = None
    sweep: Callable[[], list[Firing]] | None = None
