"""An organization's owners, admins and auditors see its own security alerts, with status."""

import pytest
from django.urls import reverse

from afspraak.audit.models import Alert, AlertStatus
from afspraak.publicid import new_public_id

pytestmark = pytest.mark.django_db


def an_alert(organization, **fields) -> Alert:
    return Alert.objects.create(
        public_id=new_public_id("alr"),
        rule_id="afspraak-privilege-escalation",
        title="Someone was made owner or admin",
        severity="medium",
        subject="member:usr_x",
        organization_public_id=organization.public_id if organization else "",
        **fields,
    )


def test_the_page_lists_this_organizations_alerts_only_with_their_status(
    client, tenants, django_assert_max_num_queries
):
    waiting = an_alert(tenants.a)
    reviewed = an_alert(tenants.a, status=AlertStatus.CLOSED, close_reason="operator's note")
    other = an_alert(tenants.b)
    operators = an_alert(None)
    client.force_login(tenants.auditor.user)
    url = reverse("org_security:alerts", args=[tenants.a.slug])
    client.get(url)

    with django_assert_max_num_queries(30) as few:
        response = client.get(url)
    for _ in range(5):
        an_alert(tenants.a)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)

    page = response.content.decode()
    assert waiting.public_id in page
    assert "waiting for review" in page
    assert reviewed.public_id in page
    assert "closed after review" in page
    assert "operator&#x27;s note" not in page  # the review note is the operator's
    assert other.public_id not in page
    assert operators.public_id not in page
    assert 'aria-current="page">Security alerts</a>' in page
