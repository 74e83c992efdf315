"""Staff pages with customer data refuse staff out of good standing (P1, P2, O4) with the staff
gate's reason and event; the pages where they see and mend their standing stay open."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from afspraak.compliance.models import SupportGrant, SupportPolicy
from afspraak.compliance.standing import REFUSAL_MESSAGES
from afspraak.compliance.tests.staffing import staff_member
from afspraak.testing.audit import assert_audited
from afspraak.testing.logins import log_in_with_second_factor

pytestmark = pytest.mark.django_db

OUT_OF_STANDING = [
    ("agreement", "staff_agreement_missing"),
    ("policy", "staff_policy_not_acknowledged"),
    ("training", "staff_training_missing"),
    ("expired", "staff_training_expired"),
]


def _lapsed(missing: str):
    if missing == "expired":
        return staff_member(trained_on=timezone.now().date() - timedelta(days=366))
    return staff_member(missing=missing)


@pytest.mark.parametrize(("missing", "reason"), OUT_OF_STANDING)
def test_disclosure_reports_are_refused_to_staff_out_of_standing(client, missing, reason):
    staff = _lapsed(missing)
    log_in_with_second_factor(client, staff)

    response = client.get(reverse("compliance:staff_disclosures"))

    assert response.status_code == 403
    assert REFUSAL_MESSAGES[reason] in response.content.decode()
    assert_audited(
        "tenancy.access.denied",
        actor=staff,
        organization=None,
        data={"reason": reason, "page": "compliance:staff_disclosures"},
    )


def test_the_support_page_shows_a_lapsed_member_their_standing_but_no_colleagues_requests(
    client, tenants
):
    SupportPolicy.objects.create(organization=tenants.a, approver="staff")
    colleague = staff_member()
    SupportGrant.objects.create(
        organization=tenants.a,
        staff=colleague,
        reason="Ticket 4711",
        duration_minutes=60,
        approver="staff",
    )
    lapsed = staff_member(missing="policy")
    log_in_with_second_factor(client, lapsed)

    page = client.get(reverse("compliance:staff_support"))

    assert page.status_code == 200
    text = page.content.decode()
    assert REFUSAL_MESSAGES["staff_policy_not_acknowledged"] in text
    assert "Ticket 4711" not in text
    assert tenants.a.name not in text
    assert "shown to staff in good standing only" in text

    log_in_with_second_factor(client, staff_member())
    served = client.get(reverse("compliance:staff_support")).content.decode()
    assert "Ticket 4711" in served
    assert tenants.a.name in served
