"""Detection rules: suspicious patterns in the audit trail, each raising an alert (O5, N2).

Each rule is a small declarative object in the manner of a Sigma rule — title, id, level,
log source, the condition in words, known false positives — plus the function that
tests it. ``docs/security/detection.md`` lists them for the operator; a test keeps that
page and ``RULES`` in step.

Event rules run on the event stream: the chain's sequencer hands every event it links on
in a ``DETECTION_TOPIC`` outbox message, and after commit the dispatcher hands those to
``evaluate_events``, a batch at a time — within a minute (the outbox runs after commits
and every minute), never for an event that was rolled back, off the request's path, and
at least once
(a repeated delivery finds the same evidence already in the alert and changes nothing).
Sweep rules look for what an event stream cannot show by itself — a break in the audit
chain, a key rotation that never finished — from periodic jobs.

Thresholds and windows come from settings (``AFSPRAAK_DETECT_*``, README).
"""

from collections.abc import Callable, Iterable
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from afspraak.audit.alerts import raise_alert
from afspraak.audit.chain import DETECTION_TOPIC, verify_chain
from afspraak.audit.models import AuditEvent, OutboxMessage, Severity
from afspraak.audit.outbox import handles
from afspraak.audit.rules import Firing, Rule

# The role values of tenancy's ``Role`` that rule the organization (audit cannot import
# tenancy; a test checks these against it).
PRIVILEGED_ROLES = ("owner", "admin")
# The key rotations whose start and end crypto records: ``<prefix>.rotation_started``,
# ``<prefix>.rotated``.
ROTATION_PREFIXES = ("crypto.org_key", "crypto.org_index_key")
DELETION_SUFFIXES = (".deleted", ".removed")
EXPORT_SUFFIXES = (".exported",)
# What compliance's support access records for each page a staff member opens through a
# grant, and what the access layer records for every refusal (a staff member's included).
SUPPORT_VIEW = "compliance.support.page_viewed"
ACCESS_DENIED = "tenancy.access.denied"
# A rotation that started longer ago than this is history, not a failure to report.
_ROTATION_LOOKBACK = timedelta(days=7)


def _window() -> timedelta:
    return timedelta(minutes=settings.AFSPRAAK_DETECT_WINDOW_MINUTES)


def _recent(event: AuditEvent, actions: Iterable[str], **filters: object) -> list[AuditEvent]:
    """Return the events of ``actions`` matching ``filters`` in the window up to ``event``."""
    return list(
        AuditEvent.objects.filter(
            action__in=list(actions),
            occurred_at__gt=event.occurred_at - _window(),
            occurred_at__lte=event.occurred_at,
            **filters,
        ).order_by("id")
    )


def _organization_of(events: list[AuditEvent]) -> str:
    """Return the public id of the one organization ``events`` belong to, or ""."""
    organizations = {event.organization_id for event in events}
    if len(organizations) != 1 or None in organizations:
        return ""
    found = (
        AuditEvent.objects.filter(pk=events[-1].pk)
        .values_list("organization__public_id", flat=True)
        .first()
    )
    return found or ""


def _account_target(event: AuditEvent) -> bool:
    return event.target_type == "accounts.user" and bool(event.target_id)


# --- Event rules ----------------------------------------------------------------------------------


def _brute_force(event: AuditEvent) -> Firing | None:
    if not _account_target(event):
        return None
    failures = _recent(
        event, ["accounts.login.failed"], target_type=event.target_type, target_id=event.target_id
    )
    if len(failures) < settings.AFSPRAAK_DETECT_ACCOUNT_FAILURES:
        return None
    return Firing(subject=f"account:{event.target_id}", evidence=[e.pk for e in failures])


def _identity_tried(event: AuditEvent) -> str:
    """Return what tells a failed login's attempted identity from others' (never the address)."""
    # ``identity`` is the keyed hash of the address tried (``accounts.login_identity``), so
    # one person mistyping their own unknown address five times is one identity. An event
    # written before failed logins carried it can only be told apart by its account, or
    # counts alone, as the rule counted then.
    identity = event.data.get("identity")
    if isinstance(identity, str) and identity:
        return f"identity:{identity}"
    return f"account:{event.target_id}" if event.target_id else f"event:{event.pk}"


def _credential_stuffing(event: AuditEvent) -> Firing | None:
    if not event.ip_address:
        return None
    failures = _recent(event, ["accounts.login.failed"], ip_address=event.ip_address)
    if len({_identity_tried(e) for e in failures}) < settings.AFSPRAAK_DETECT_SOURCE_ACCOUNTS:
        return None
    return Firing(subject=f"source:{event.ip_address}", evidence=[e.pk for e in failures])


def _mfa_burst(event: AuditEvent) -> Firing | None:
    if not _account_target(event):
        return None
    failures = _recent(
        event, ["accounts.mfa.failed"], target_type=event.target_type, target_id=event.target_id
    )
    if len(failures) < settings.AFSPRAAK_DETECT_MFA_FAILURES:
        return None
    return Firing(subject=f"account:{event.target_id}", evidence=[e.pk for e in failures])


def _login_after_lockout(event: AuditEvent) -> Firing | None:
    if not _account_target(event):
        return None
    since = event.occurred_at - timedelta(hours=settings.AFSPRAAK_DETECT_LOCKOUT_HOURS)
    lockouts = list(
        AuditEvent.objects.filter(
            action="accounts.login.locked_out",
            target_type=event.target_type,
            target_id=event.target_id,
            occurred_at__gte=since,
            occurred_at__lte=event.occurred_at,
        ).order_by("id")
    )
    if not lockouts:
        return None
    return Firing(
        subject=f"account:{event.target_id}", evidence=[*(e.pk for e in lockouts), event.pk]
    )


def _privilege_escalation(event: AuditEvent) -> Firing | None:
    if event.data.get("to") not in PRIVILEGED_ROLES:
        return None
    return Firing(
        subject=f"member:{event.data.get('user') or event.target_id}",
        evidence=[event.pk],
        organization_public_id=_organization_of([event]),
    )


def _mass_deletion(event: AuditEvent) -> Firing | None:
    if event.actor_id is None:
        return None
    is_deletion = Q()
    for suffix in DELETION_SUFFIXES:
        is_deletion |= Q(action__endswith=suffix)
    deletions = list(
        AuditEvent.objects.filter(
            is_deletion,
            actor_id=event.actor_id,
            occurred_at__gt=event.occurred_at - _window(),
            occurred_at__lte=event.occurred_at,
        ).order_by("id")
    )
    if len(deletions) < settings.AFSPRAAK_DETECT_DELETIONS:
        return None
    return Firing(
        subject=f"actor:{event.actor_public_id}",
        evidence=[e.pk for e in deletions],
        organization_public_id=_organization_of(deletions),
    )


def _mass_export(event: AuditEvent) -> Firing | None:
    if event.actor_id is None:
        return None
    exports = list(
        AuditEvent.objects.filter(
            actor_id=event.actor_id,
            action__endswith=EXPORT_SUFFIXES[0],
            occurred_at__gt=event.occurred_at - _window(),
            occurred_at__lte=event.occurred_at,
        ).order_by("id")
    )
    rows = event.data.get("rows")
    large = isinstance(rows, int) and rows >= settings.AFSPRAAK_DETECT_EXPORT_ROWS
    if len(exports) < settings.AFSPRAAK_DETECT_EXPORTS and not large:
        return None
    return Firing(
        subject=f"actor:{event.actor_public_id}",
        evidence=[e.pk for e in exports],
        organization_public_id=_organization_of(exports),
    )


def _is_staff(user_id: int | None) -> bool:
    """Tell whether ``user_id`` is one of the operator's staff (as ``is_staff_account`` does)."""
    if user_id is None:
        return False
    return (
        get_user_model()
        .objects.filter(Q(is_staff=True) | Q(is_superuser=True), pk=user_id)
        .exists()
    )


def _staff_access(event: AuditEvent) -> Firing | None:
    if not _is_staff(event.actor_id):
        return None
    if event.action == SUPPORT_VIEW:
        # Allowed by the organization's grant, yet its owners hear of it and a reviewer
        # looks: one alert per grant, its later pages grouped into it.
        return Firing(
            subject=f"support-grant:{event.data.get('grant') or event.target_id}",
            evidence=[event.pk],
            organization_public_id=_organization_of([event]),
            severity=Severity.LOW,
        )
    # A refusal: a write through a read-only grant, or an organization's page with no
    # active grant at all (the refusal of an outsider names the organization in its data).
    organization = _organization_of([event]) or str(event.data.get("organization") or "")
    return Firing(
        subject=f"staff:{event.actor_public_id}",
        evidence=[event.pk],
        organization_public_id=organization,
        detail=f"refused: {event.data.get('reason', '')}"[:300],
        severity=Severity.HIGH,
    )


def _single_event(subject_prefix: str) -> Callable[[AuditEvent], Firing | None]:
    def evaluate(event: AuditEvent) -> Firing | None:
        return Firing(
            subject=f"{subject_prefix}:{event.action}",
            evidence=[event.pk],
            organization_public_id=_organization_of([event]),
        )

    return evaluate


# --- Sweep rules ----------------------------------------------------------------------------------


def _chain_break() -> list[Firing]:
    report = verify_chain()
    if report.intact:
        return []
    return [Firing(subject="audit-chain", evidence=[], detail=str(report.first_break)[:300])]


def _stalled_rotations() -> list[Firing]:
    now = timezone.now()
    deadline = now - timedelta(hours=settings.AFSPRAAK_DETECT_ROTATION_HOURS)
    firings = []
    for prefix in ROTATION_PREFIXES:
        started = AuditEvent.objects.filter(
            action=f"{prefix}.rotation_started",
            occurred_at__lte=deadline,
            occurred_at__gte=now - _ROTATION_LOOKBACK,
            organization__isnull=False,
        ).order_by("id")
        for event in started:
            finished = AuditEvent.objects.filter(
                action=f"{prefix}.rotated",
                organization=event.organization_id or 0,
                occurred_at__gte=event.occurred_at,
            ).exists()
            if not finished:
                organization = _organization_of([event])
                firings.append(
                    Firing(
                        subject=f"rotation:{prefix}:{organization or event.organization_id}",
                        evidence=[event.pk],
                        organization_public_id=organization,
                    )
                )
    return firings


RULES: tuple[Rule, ...] = (
    Rule(
        id="afspraak-brute-force-account",
        title="Brute force on one account",
        level=Severity.HIGH,
        logsource="audit trail: accounts.login.failed",
        condition="AFSPRAAK_DETECT_ACCOUNT_FAILURES or more failed logins for one account "
        "within AFSPRAAK_DETECT_WINDOW_MINUTES, from any address",
        falsepositives=("a person who forgot their password and keeps trying",),
        actions=frozenset({"accounts.login.failed"}),
        evaluate=_brute_force,
    ),
    Rule(
        id="afspraak-credential-stuffing",
        title="Credential stuffing from one address",
        level=Severity.HIGH,
        logsource="audit trail: accounts.login.failed",
        condition="failed logins from one source address for AFSPRAAK_DETECT_SOURCE_ACCOUNTS "
        "or more different addresses (told apart by their keyed hash, with or without an "
        "account) within AFSPRAAK_DETECT_WINDOW_MINUTES",
        falsepositives=(
            "an office behind one NAT address where several people mistype at once",
            "a person trying their old addresses one after another",
        ),
        actions=frozenset({"accounts.login.failed"}),
        evaluate=_credential_stuffing,
    ),
    Rule(
        id="afspraak-mfa-failure-burst",
        title="Burst of second-factor failures",
        level=Severity.HIGH,
        logsource="audit trail: accounts.mfa.failed",
        condition="AFSPRAAK_DETECT_MFA_FAILURES or more wrong second-factor codes for one "
        "account within AFSPRAAK_DETECT_WINDOW_MINUTES (the password was right: it is known)",
        falsepositives=("an authenticator app whose clock is off",),
        actions=frozenset({"accounts.mfa.failed"}),
        evaluate=_mfa_burst,
    ),
    Rule(
        id="afspraak-login-after-lockout",
        title="Login soon after a lockout",
        level=Severity.MEDIUM,
        logsource="audit trail: accounts.login.succeeded, accounts.login.locked_out",
        condition="a successful login to an account that was locked out within the "
        "AFSPRAAK_DETECT_LOCKOUT_HOURS before it",
        falsepositives=("the owner who was locked out resets the password by e-mail and logs in",),
        actions=frozenset({"accounts.login.succeeded"}),
        evaluate=_login_after_lockout,
    ),
    Rule(
        id="afspraak-privilege-escalation",
        title="Someone was made owner or admin",
        level=Severity.MEDIUM,
        logsource="audit trail: tenancy.member.role_changed",
        condition="a member's role changed to owner or admin",
        falsepositives=("an organization promoting a colleague on purpose (most of them)",),
        actions=frozenset({"tenancy.member.role_changed"}),
        evaluate=_privilege_escalation,
    ),
    Rule(
        id="afspraak-staff-customer-access",
        title="Staff accessed an organization's data",
        level=Severity.HIGH,
        logsource=f"audit trail: {SUPPORT_VIEW}, {ACCESS_DENIED} (actor is staff)",
        condition="a staff account opened an organization's page through a support grant "
        "(low: one alert per grant, later pages grouped in), or a staff account was refused "
        "an organization's data: a write through the read-only grant, or any page without "
        "an active grant (high)",
        falsepositives=(
            "support work the organization asked for and approved (the low alerts)",
            "a staff member following a customer's link before the grant was approved",
        ),
        actions=frozenset({SUPPORT_VIEW, ACCESS_DENIED}),
        evaluate=_staff_access,
    ),
    Rule(
        id="afspraak-mass-deletion",
        title="Mass deletion by one actor",
        level=Severity.HIGH,
        logsource="audit trail: every *.deleted and *.removed action",
        condition="AFSPRAAK_DETECT_DELETIONS or more deletions or removals by one person "
        "within AFSPRAAK_DETECT_WINDOW_MINUTES",
        falsepositives=("an owner cleaning up old meeting types and schedules in one go",),
        action_suffixes=DELETION_SUFFIXES,
        evaluate=_mass_deletion,
    ),
    Rule(
        id="afspraak-mass-export",
        title="Mass export by one actor",
        level=Severity.HIGH,
        logsource="audit trail: every *.exported action (the audit log's CSV and JSON export)",
        condition="AFSPRAAK_DETECT_EXPORTS or more exports by one person within "
        "AFSPRAAK_DETECT_WINDOW_MINUTES, or one export of AFSPRAAK_DETECT_EXPORT_ROWS rows or more",
        falsepositives=("an auditor exporting the log month by month for a yearly review",),
        action_suffixes=EXPORT_SUFFIXES,
        evaluate=_mass_export,
    ),
    Rule(
        id="afspraak-backup-failure",
        title="Backup, pruning, restore or restore drill failed",
        level=Severity.HIGH,
        logsource="audit trail: backups.backup.failed, backups.prune.failed, "
        "backups.restore.failed, backups.drill.failed",
        condition="any one of these events",
        falsepositives=("a restore refused on purpose in a drill with a damaged file",),
        actions=frozenset(
            {
                "backups.backup.failed",
                "backups.prune.failed",
                "backups.restore.failed",
                "backups.drill.failed",
            }
        ),
        evaluate=_single_event("backups"),
    ),
    Rule(
        id="afspraak-key-unavailable",
        title="An encryption key could not be loaded",
        level=Severity.CRITICAL,
        logsource="audit trail: crypto.master_key.unavailable, crypto.keyset.missing",
        condition="any one of these events",
        falsepositives=("none expected: a key file moved during maintenance is still one",),
        actions=frozenset({"crypto.master_key.unavailable", "crypto.keyset.missing"}),
        evaluate=_single_event("keys"),
    ),
    Rule(
        id="afspraak-posture-regression",
        title="A security audit check regressed",
        level=Severity.HIGH,
        logsource="audit trail: posture.audit.regressed (the daily afspraak security-audit)",
        condition="a check of the security audit that passed in the previous run fails now",
        falsepositives=("a planned change the audit's settings do not know of yet (a new port)",),
        actions=frozenset({"posture.audit.regressed"}),
        evaluate=_single_event("posture"),
    ),
    Rule(
        id="afspraak-key-rotation-failure",
        title="A key rotation did not finish",
        level=Severity.HIGH,
        logsource="hourly sweep of the audit trail: crypto.org_key.rotation_started, "
        "crypto.org_index_key.rotation_started without their .rotated",
        condition="a rotation of an organization's data or index key started more than "
        "AFSPRAAK_DETECT_ROTATION_HOURS ago (and within 7 days) and has not finished",
        falsepositives=("a very large organization whose rotation is still running",),
        sweep=_stalled_rotations,
    ),
    Rule(
        id="afspraak-audit-chain-break",
        title="The audit chain is broken",
        level=Severity.CRITICAL,
        logsource="daily sweep: afspraak audit verify",
        condition="verify_chain names a broken link (an event edited, deleted, inserted or "
        "links reordered)",
        falsepositives=("none: a break is tampering or a restore mixed with newer rows",),
        sweep=_chain_break,
    ),
)

RULES_BY_ID = {rule.id: rule for rule in RULES}


def _applies(rule: Rule, action: str) -> bool:
    return action in rule.actions or bool(
        rule.action_suffixes and action.endswith(rule.action_suffixes)
    )


def evaluate(event: AuditEvent) -> list[Firing]:
    """Run every event rule on ``event``; raise an alert for each that fires; return them."""
    fired = []
    for rule in RULES:
        if rule.evaluate is None or not _applies(rule, event.action):
            continue
        firing = rule.evaluate(event)
        if firing is not None:
            raise_alert(rule, firing)
            fired.append(firing)
    return fired


_WATCHED_ACTIONS = frozenset(action for rule in RULES for action in rule.actions)
_WATCHED_SUFFIXES = tuple(suffix for rule in RULES for suffix in rule.action_suffixes)


def _is_watched(action: str) -> bool:
    return action in _WATCHED_ACTIONS or action.endswith(_WATCHED_SUFFIXES)


@handles(DETECTION_TOPIC, batch=True)
def evaluate_events(messages: list[OutboxMessage]) -> None:
    """Run the detection rules on the committed events the messages name, oldest first."""
    ids = [event_id for message in messages for event_id in message.payload["events"]]
    # One query for the batch; an event no rule looks at costs nothing more.
    actions = dict(AuditEvent.objects.filter(pk__in=ids).values_list("pk", "action"))
    missing = [event_id for event_id in ids if event_id not in actions]
    if missing:
        raise LookupError(f"audit events {missing} are gone before detection")
    watched = AuditEvent.objects.in_bulk([i for i in ids if _is_watched(actions[i])])
    for event_id in ids:
        if event_id in watched:
            evaluate(watched[event_id])


def run_sweep(rule_id: str) -> list[Firing]:
    """Run one sweep rule now; raise an alert for each firing; return them."""
    rule = RULES_BY_ID[rule_id]
    if rule.sweep is None:
        raise ValueError(f"{rule_id} is an event rule, not a sweep")
    firings = rule.sweep()
    for firing in firings:
        raise_alert(rule, firing)
    return firings


@db_periodic_task(crontab(minute="7"))
def sweep_key_rotations() -> None:
    """Look for key rotations that did not finish, every hour."""
    run_sweep("afspraak-key-rotation-failure")


@db_periodic_task(crontab(hour="3", minute="23"))
def sweep_audit_chain() -> None:
    """Verify the audit chain every day; a break raises a critical alert."""
    run_sweep("afspraak-audit-chain-break")
