"""The public trust page's figures (issue 14): each read from the system, none typed in.

``trust_figures`` gathers them from where the facts live — the server's OpenSSL
configuration (TLS floor), the crypto settings, the audit trail (backups and restore
drills), staff accounts and their second factors, access reviews, penetration tests and
the subprocessor register, the last restore drill's RTO and the last daily security
audit's result (read from its ``posture.audit.completed`` event: compliance sits below
posture in the layers, so it reads the trail, not the module). They are cached
(``TRUST_CACHE_KEY``) so the public page costs no queries; a job refreshes them every 15
minutes and the page computes them when the cache is empty.
"""

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task
from tink.proto import aes_gcm_pb2

from afspraak.accounts.middleware import is_staff_account
from afspraak.accounts.models import User
from afspraak.audit.models import AuditEvent
from afspraak.compliance.models import ReviewCampaign, Subprocessor
from afspraak.compliance.pentests import last_engagement, open_findings_by_severity
from afspraak.crypto.keysets import TEMPLATES
from afspraak.crypto.models import KeysetPurpose

TRUST_CACHE_KEY = "compliance.trust_figures"
# Longer than the refresh interval, so the page is served from the cache between runs.
TRUST_CACHE_SECONDS = 60 * 60
BACKUP_COMPLETED = "backups.backup.completed"
DRILL_PASSED, DRILL_FAILED = "backups.drill.passed", "backups.drill.failed"
SECURITY_AUDIT_COMPLETED = "posture.audit.completed"
_MIN_PROTOCOL = re.compile(r"^\s*MinProtocol\s*=\s*(\S+)", re.MULTILINE)


@dataclass(frozen=True)
class TrustFigures:
    """What the trust page shows; datetimes are aware, counts are whole numbers."""

    computed_at: datetime
    tls_floor: str
    encryption_at_rest: str
    master_key: str
    last_backup_at: datetime | None
    last_drill_at: datetime | None
    last_drill_passed: bool | None
    staff_total: int
    staff_with_mfa: int
    last_access_review_at: datetime | None
    last_pentest_on: Any
    open_findings: dict[str, int] = field(default_factory=dict)
    subprocessors: int = 0
    # Defaults, so figures cached before these fields existed still load after a deploy.
    # The slowest location's seconds to a checked restore: what a customer would wait.
    last_drill_rto_seconds: float | None = None
    last_security_audit_at: datetime | None = None
    security_checks_passed: int = 0
    security_checks_failed: int = 0


def tls_floor() -> str:
    """Return the lowest TLS version the server accepts, from its OpenSSL configuration."""
    try:
        text = settings.AFSPRAAK_OPENSSL_CONF.read_text(encoding="utf-8")
    except OSError:
        return "unknown"
    found = _MIN_PROTOCOL.search(text)
    return found.group(1).replace("TLSv", "TLS ") if found else "unknown"


def encryption_at_rest() -> str:
    """Describe the organizations' data keys from the template their keysets are made with."""
    template = TEMPLATES[KeysetPurpose.DATA]
    if not template.type_url.endswith(".AesGcmKey"):
        return "unknown"
    bits = aes_gcm_pb2.AesGcmKeyFormat.FromString(template.value).key_size * 8
    return f"AES-{bits}-GCM, a separate key for each organization"


def _last(*actions: str) -> AuditEvent | None:
    return AuditEvent.objects.filter(action__in=actions).order_by("-occurred_at", "-id").first()


def drill_rto_seconds(drill: AuditEvent | None) -> float | None:
    """Return the slowest location's RTO of a drill event, or None when none restored."""
    if drill is None or not isinstance(drill.data, dict):
        return None
    locations = drill.data.get("locations")
    if not isinstance(locations, dict):
        return None
    seconds = [
        float(figures["rto_seconds"])
        for figures in locations.values()
        if isinstance(figures, dict) and isinstance(figures.get("rto_seconds"), int | float)
    ]
    return max(seconds) if seconds else None


def _check_count(event: AuditEvent | None, key: str) -> int:
    names = event.data.get(key) if event is not None and isinstance(event.data, dict) else None
    return len(names) if isinstance(names, list) else 0


def trust_figures() -> TrustFigures:
    """Gather the trust page's figures from the system now."""
    staff = [user for user in User.objects.filter(is_active=True) if is_staff_account(user)]
    with_mfa = set(
        Authenticator.objects.filter(user__in=staff).values_list("user_id", flat=True).distinct()
    )
    backup = _last(BACKUP_COMPLETED)
    drill = _last(DRILL_PASSED, DRILL_FAILED)
    review = ReviewCampaign.objects.exclude(completed_at=None).order_by("-completed_at").first()
    pentest = last_engagement()
    security_audit = _last(SECURITY_AUDIT_COMPLETED)
    return TrustFigures(
        computed_at=timezone.now(),
        tls_floor=tls_floor(),
        encryption_at_rest=encryption_at_rest(),
        master_key="a cloud KMS key" if settings.AFSPRAAK_MASTER_KEY_URI else "a keyset file",
        last_backup_at=backup.occurred_at if backup else None,
        last_drill_at=drill.occurred_at if drill else None,
        last_drill_passed=(drill.action == DRILL_PASSED) if drill else None,
        last_drill_rto_seconds=drill_rto_seconds(drill),
        staff_total=len(staff),
        staff_with_mfa=sum(1 for user in staff if user.pk in with_mfa),
        last_access_review_at=review.completed_at if review else None,
        last_pentest_on=pentest.performed_on if pentest else None,
        open_findings=open_findings_by_severity(),
        subprocessors=Subprocessor.objects.filter(effective_on__lte=timezone.now().date()).count(),
        last_security_audit_at=security_audit.occurred_at if security_audit else None,
        security_checks_passed=_check_count(security_audit, "passed"),
        security_checks_failed=_check_count(security_audit, "failed"),
    )


def refresh_trust_figures() -> TrustFigures:
    """Compute the figures and put them in the cache for the trust page."""
    figures = trust_figures()
    cache.set(TRUST_CACHE_KEY, asdict(figures), TRUST_CACHE_SECONDS)
    return figures


def cached_trust_figures() -> TrustFigures:
    """Return the cached figures, computing them when the cache has none."""
    stored = cache.get(TRUST_CACHE_KEY)
    if stored is None:
        return refresh_trust_figures()
    return TrustFigures(**stored)


@db_periodic_task(crontab(minute="*/15"))
def refresh_trust_page() -> None:
    """Refresh the trust page's figures every 15 minutes."""
    refresh_trust_figures()
