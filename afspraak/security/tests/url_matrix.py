"""The security console's URLs for the URL matrix: staff with a second factor only."""

from afspraak.audit.models import Alert, Incident
from afspraak.publicid import new_public_id
from afspraak.security.models import MemberSuspension
from afspraak.tenancy.roles import Role


def an_alert(tenants) -> tuple[dict, dict]:
    alert = Alert.objects.create(
        public_id=new_public_id("alr"),
        rule_id="afspraak-backup-failure",
        title="Backup, pruning or restore failed",
        severity="high",
        subject="backups:backups.backup.failed",
    )
    return {"alert_id": alert.public_id}, {"reason": "drill", "severity": "high", "title": "X"}


def an_incident(tenants) -> tuple[dict, dict]:
    incident = Incident.objects.create(
        public_id=new_public_id("inc"), title="Backups failing", severity="high"
    )
    return {"incident_id": incident.public_id}, {"status": "triaged", "note": "Looked at it."}


def a_member_to_contain(tenants) -> tuple[dict, dict]:
    kwargs, _ = an_incident(tenants)
    return kwargs, {"user": tenants.member.user.public_id, "organization": tenants.a.public_id}


def a_suspension(tenants) -> tuple[dict, dict]:
    kwargs, _ = an_incident(tenants)
    suspension = MemberSuspension.objects.create(organization=tenants.a, user=tenants.member.user)
    return {**kwargs, "suspension_id": suspension.public_id}, {}


def _nothing(tenants) -> tuple[dict, dict]:
    return {}, {}


# An organization's own pages: (method, roles allowed, build), as in tenancy's matrix.
MATRIX = {
    "org_security:alerts": ("get", frozenset({Role.OWNER, Role.ADMIN, Role.AUDITOR}), _nothing),
}


# URL name: (method, build(tenants) -> (URL kwargs, POST data)); the allowed visitor is
# staff who logged in with their second factor (tenancy/tests/test_url_matrix.py).
STAFF = {
    "security:console": ("get", _nothing),
    "security:alert_acknowledge": ("post", an_alert),
    "security:alert_close": ("post", an_alert),
    "security:alert_declare": ("post", an_alert),
    "security:incident_update": ("post", an_incident),
    "security:incident": ("get", an_incident),
    "security:end_sessions": ("post", a_member_to_contain),
    "security:suspend_member": ("post", a_member_to_contain),
    "security:revoke_tokens": ("post", a_member_to_contain),
    "security:lift_suspension": ("post", a_suspension),
    "security:rotate_keys": ("post", a_member_to_contain),
}
