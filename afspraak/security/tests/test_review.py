"""Reviewing alerts and incidents: each step is audited, and only staff with MFA may take it."""

import pytest

from afspraak.audit.context import AuditContext
from afspraak.audit.models import Alert, AlertStatus, Incident, IncidentStatus
from afspraak.compliance.tests.staffing import staff_member
from afspraak.errors import ConflictError, DomainError, ForbiddenError
from afspraak.security.review import (
    Reviewer,
    acknowledge_alert,
    close_alert,
    declare_incident,
    update_incident,
)
from afspraak.security.tests.url_matrix import an_alert
from afspraak.testing.audit import assert_audited
from afspraak.testing.factories import StaffUserFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer(db) -> Reviewer:
    staff = staff_member()
    return Reviewer(user=staff, context=AuditContext.system(staff))


def _alert(tenants) -> str:
    kwargs, _ = an_alert(tenants)
    return kwargs["alert_id"]


def test_acknowledge_then_close_with_a_reason(tenants, reviewer):
    alert_id = _alert(tenants)

    acknowledge_alert(reviewer, alert_id)
    close_alert(reviewer, alert_id, "  Restore drill with a damaged file, on purpose. ")

    alert = Alert.objects.get(public_id=alert_id)
    assert alert.status == AlertStatus.CLOSED
    assert alert.acknowledged_by == reviewer.user
    assert alert.close_reason == "Restore drill with a damaged file, on purpose."
    assert_audited("audit.alert.acknowledged", actor=reviewer.user, target_id=alert_id)
    assert_audited("audit.alert.closed", actor=reviewer.user, target_id=alert_id)
    with pytest.raises(ConflictError):
        acknowledge_alert(reviewer, alert_id)


def test_closing_needs_a_reason(tenants, reviewer):
    alert_id = _alert(tenants)

    with pytest.raises(DomainError, match="Say why"):
        close_alert(reviewer, alert_id, "   ")

    assert Alert.objects.get(public_id=alert_id).status == AlertStatus.OPEN


def test_declaring_an_incident_closes_the_alert_into_it_and_the_incident_moves_forward(
    tenants, reviewer
):
    alert_id = _alert(tenants)

    incident = declare_incident(reviewer, alert_id, severity="critical", title="Backups down")
    update_incident(reviewer, incident.public_id, status="contained", note="Disk replaced.")

    incident.refresh_from_db()
    alert = Alert.objects.get(public_id=alert_id)
    assert alert.incident == incident
    assert alert.status == AlertStatus.CLOSED
    assert incident.owner == reviewer.user
    assert incident.status == IncidentStatus.CONTAINED
    assert [note.status for note in incident.notes.all()] == ["detected", "contained"]
    assert_audited(
        "audit.incident.declared",
        target_id=incident.public_id,
        data={"alert": alert_id, "severity": "critical"},
    )
    assert_audited("audit.incident.updated", data={"from": "detected", "to": "contained"})
    with pytest.raises(ConflictError, match="forward only"):
        update_incident(reviewer, incident.public_id, status="triaged", note="Back?")


def test_a_bad_severity_or_status_is_refused(tenants, reviewer):
    alert_id = _alert(tenants)

    with pytest.raises(DomainError, match="Choose a severity"):
        declare_incident(reviewer, alert_id, severity="apocalyptic", title="X")
    assert not Incident.objects.exists()


def test_someone_who_is_not_staff_with_mfa_cannot_review(tenants):
    alert_id = _alert(tenants)
    staff_without_mfa = StaffUserFactory.create()

    for user in (UserFactory.create(), staff_without_mfa):
        with pytest.raises(ForbiddenError):
            acknowledge_alert(Reviewer(user=user, context=AuditContext.system(user)), alert_id)

    assert Alert.objects.get(public_id=alert_id).status == AlertStatus.OPEN
