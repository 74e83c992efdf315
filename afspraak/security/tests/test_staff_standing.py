"""The security console shows and changes customer data: staff out of standing are refused it
(P1, P2, O4), with the staff gate's reason and event; containment needs a fresh password."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from afspraak.audit.context import AuditContext
from afspraak.audit.models import Alert, AlertStatus, Incident
from afspraak.audit.outbox import deliver_due
from afspraak.compliance.standing import REFUSAL_MESSAGES
from afspraak.compliance.tests.staffing import staff_member
from afspraak.crypto import keysets
from afspraak.errors import ReauthenticationRequiredError
from afspraak.security import containment
from afspraak.security.models import MemberSuspension
from afspraak.security.review import Reviewer
from afspraak.security.tests.reviewers import STANDING_ELEMENTS, reviewer_client
from afspraak.security.tests.url_matrix import a_member_to_contain, a_suspension, an_alert
from afspraak.tenancy import staff_standing
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.staff_standing import StaffStandingError
from afspraak.testing.audit import assert_audited, assert_not_audited
from afspraak.testing.factories import DEFAULT_PASSWORD
from afspraak.testing.logins import log_in_with_second_factor

pytestmark = pytest.mark.django_db

# Each way out of standing: (what is missing, the gate's reason). An expired training is
# a training completed 366 days ago.
OUT_OF_STANDING = [*STANDING_ELEMENTS.items(), ("expired", "staff_training_expired")]


def _out_of_standing_client(client, missing: str):
    if missing != "expired":
        return reviewer_client(client, missing=missing)
    staff = staff_member(trained_on=timezone.now().date() - timedelta(days=366))
    log_in_with_second_factor(client, staff, reauthenticated=True)
    client.staff = staff
    return client


def _incident_page(tenants):
    kwargs, _ = a_member_to_contain(tenants)
    return kwargs, {}


# The console's pages and actions: (URL name, method, build(tenants) -> (kwargs, POST data)).
CONSOLE = {
    "security:console": ("get", lambda tenants: ({}, {})),
    "security:alert_acknowledge": ("post", an_alert),
    "security:alert_declare": ("post", an_alert),
    "security:incident": ("get", _incident_page),
    "security:end_sessions": ("post", a_member_to_contain),
    "security:revoke_tokens": ("post", a_member_to_contain),
    "security:suspend_member": ("post", a_member_to_contain),
    "security:lift_suspension": ("post", a_suspension),
    "security:rotate_keys": ("post", a_member_to_contain),
}
CONTAINMENT = [
    "security:end_sessions",
    "security:revoke_tokens",
    "security:suspend_member",
    "security:lift_suspension",
    "security:rotate_keys",
]


def _notes_and_suspensions() -> tuple[int, int]:
    notes = sum(incident.notes.count() for incident in Incident.objects.all())
    return notes, MemberSuspension.objects.filter(lifted_at__isnull=False).count()


@pytest.mark.parametrize(("missing", "reason"), OUT_OF_STANDING)
@pytest.mark.parametrize("name", sorted(CONSOLE))
def test_staff_out_of_standing_are_refused_every_console_page_and_action(
    client, tenants, name, missing, reason
):
    method, build = CONSOLE[name]
    kwargs, data = build(tenants)
    url = reverse(name, kwargs=kwargs)
    _out_of_standing_client(client, missing)
    suspensions = MemberSuspension.objects.filter(lifted_at__isnull=True).count()
    before = _notes_and_suspensions()

    response = client.post(url, data) if method == "post" else client.get(url)

    assert response.status_code == 403
    assert REFUSAL_MESSAGES[reason] in response.content.decode()
    # The same event and reason as the staff gate of an organization's pages.
    assert_audited(
        "tenancy.access.denied",
        actor=client.staff,
        outcome="denied",
        organization=None,
        data={"reason": reason, "page": name},
    )
    assert _notes_and_suspensions() == before
    assert MemberSuspension.objects.filter(lifted_at__isnull=True).count() == suspensions
    assert Alert.objects.filter(status=AlertStatus.OPEN).count() == Alert.objects.count()


def test_staff_without_a_second_factor_are_sent_to_enrol_before_any_console_page(client):
    staff = staff_member(missing="mfa")
    client.force_login(staff)

    response = client.get(reverse("security:console"))

    assert response["Location"] == reverse("mfa_index")


def test_staff_in_standing_are_served_the_console_and_an_incident(client, tenants):
    reviewer_client(client)
    kwargs, _ = _incident_page(tenants)

    assert client.get(reverse("security:console")).status_code == 200
    assert client.get(reverse("security:incident", kwargs=kwargs)).status_code == 200
    assert_not_audited("tenancy.access.denied")


@pytest.mark.parametrize(("missing", "reason"), OUT_OF_STANDING)
def test_a_containment_function_refuses_a_reviewer_out_of_standing(tenants, missing, reason):
    trained_on = timezone.now().date() - timedelta(days=366) if missing == "expired" else None
    staff = staff_member(missing="" if missing == "expired" else missing, trained_on=trained_on)
    reviewer = Reviewer(user=staff, context=AuditContext.system(staff), reauthenticated=True)
    kwargs, fields = a_member_to_contain(tenants)

    with pytest.raises(StaffStandingError) as refused:
        containment.suspend_member(
            reviewer, kwargs["incident_id"], fields["organization"], fields["user"]
        )

    assert refused.value.message == REFUSAL_MESSAGES[reason]
    assert_audited("tenancy.access.denied", actor=staff, data={"reason": reason})
    assert not MemberSuspension.objects.exists()


def test_without_the_compliance_check_every_staff_member_is_refused(tenants, monkeypatch):
    # Fail closed: were the staff records not registered, no one would be in standing.
    monkeypatch.setattr(staff_standing, "_checks", {})
    staff = staff_member()
    reviewer = Reviewer(user=staff, context=AuditContext.system(staff), reauthenticated=True)
    kwargs, fields = a_member_to_contain(tenants)

    with pytest.raises(StaffStandingError):
        containment.rotate_organization_keys(
            reviewer, kwargs["incident_id"], fields["organization"]
        )

    assert_audited("tenancy.access.denied", data={"reason": staff_standing.NO_STANDING_CHECK})


@pytest.mark.parametrize("name", CONTAINMENT)
def test_containment_without_a_recent_password_asks_for_it_and_changes_nothing(
    client, tenants, name
):
    _, build = CONSOLE[name]
    kwargs, data = build(tenants)
    url = reverse(name, kwargs=kwargs)
    reviewer_client(client, reauthenticated=False)
    before = _notes_and_suspensions()

    response = client.post(url, data)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert _notes_and_suspensions() == before
    assert MemberSuspension.objects.filter(lifted_at__isnull=True).count() == (
        1 if name == "security:lift_suspension" else 0
    )
    assert_audited(
        "security.console.refused",
        actor=client.staff,
        data={"reason": "reauthentication_required"},
    )


def test_key_rotation_goes_through_once_the_reviewer_confirmed_their_password(client, tenants):
    kwargs, data = a_member_to_contain(tenants)
    url = reverse("security:rotate_keys", kwargs=kwargs)
    reviewer_client(client, reauthenticated=False)

    def data_key():
        with organization_context(tenants.a):
            return keysets.keys_for_reading(tenants.a.pk, reload=True).data_primary_key_id

    before = data_key()

    asked = client.post(url, data)
    assert asked["Location"].startswith(reverse("account_reauthenticate"))
    assert_not_audited("security.keys.rotation_requested")

    # allauth's page takes the password and carries on with the suspended request.
    confirmed = client.post(asked["Location"], {"password": DEFAULT_PASSWORD})
    deliver_due()

    assert confirmed.status_code == 302
    assert confirmed["Location"] == reverse("security:incident", kwargs=kwargs)
    assert_audited("security.keys.rotation_requested", actor=client.staff, organization=tenants.a)
    assert data_key() != before


def test_a_containment_function_refuses_a_reviewer_who_did_not_confirm_their_password(tenants):
    staff = staff_member()
    reviewer = Reviewer(user=staff, context=AuditContext.system(staff))
    kwargs, fields = a_member_to_contain(tenants)

    with pytest.raises(ReauthenticationRequiredError) as refused:
        containment.rotate_organization_keys(
            reviewer, kwargs["incident_id"], fields["organization"]
        )

    assert "enter your password again" in refused.value.message
    assert_not_audited("security.keys.rotation_requested")
