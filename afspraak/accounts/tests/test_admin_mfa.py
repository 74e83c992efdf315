"""Staff and the admin interface need MFA (control O2): enrolment first, then every login."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from afspraak.accounts.tests.signin import enrol_totp, submit_password, totp_code
from afspraak.audit.models import AuditEvent
from afspraak.testing.factories import DEFAULT_PASSWORD, StaffUserFactory, UserFactory

pytestmark = pytest.mark.django_db

ENROLLED_AT = datetime(2026, 3, 2, 9, 0, 15, tzinfo=UTC)
LOGIN_AT = ENROLLED_AT + timedelta(minutes=2)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/admin/",
        "/admin/accounts/user/",
        "/accounts/sessions/",
        "/accounts/password/change/",
    ],
)
def test_staff_without_mfa_is_sent_to_enrolment_from_every_page(client, path):
    staff = StaffUserFactory.create()
    client.force_login(staff)

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_index")
    refusal = AuditEvent.objects.get(action="accounts.mfa.enrolment_required")
    assert (refusal.outcome, refusal.actor_id) == ("denied", staff.pk)


def test_staff_without_mfa_can_reach_the_enrolment_pages(client):
    client.force_login(StaffUserFactory.create())

    assert client.get(reverse("mfa_index")).status_code == 200
    secret = enrol_totp(client)

    assert secret
    assert client.get("/admin/").status_code == 200
    assert not AuditEvent.objects.filter(action="accounts.mfa.enrolment_required").exists()


def test_admin_login_goes_through_allauth_and_its_mfa_step(client):
    staff = StaffUserFactory.create()
    with time_machine.travel(ENROLLED_AT, tick=False):
        client.force_login(staff)
        secret = enrol_totp(client)
        client.post(reverse("account_logout"))

    with time_machine.travel(LOGIN_AT, tick=False):
        to_admin_login = client.get("/admin/")
        assert to_admin_login.status_code == 302
        assert to_admin_login["Location"].startswith("/admin/login/")

        to_allauth = client.get(to_admin_login["Location"])
        assert to_allauth.status_code == 302
        assert to_allauth["Location"].startswith(reverse("account_login"))

        # The admin's own login form is never used: its credentials log nobody in.
        admin_form = client.post(
            "/admin/login/", {"username": staff.email, "password": DEFAULT_PASSWORD}
        )
        assert admin_form["Location"].startswith(reverse("account_login"))
        assert client.get("/admin/").status_code == 302

        assert submit_password(client, staff.email)["Location"] == reverse("mfa_authenticate")
        assert client.get("/admin/").status_code == 302, "password alone must not open admin"

        client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
        assert client.get("/admin/").status_code == 200


def test_non_staff_user_is_refused_by_the_admin(client):
    client.force_login(UserFactory.create())

    response = client.get("/admin/login/")

    assert response.status_code == 403


def test_staff_without_mfa_gets_a_clear_403_from_the_api(client):
    client.force_login(StaffUserFactory.create())

    response = client.get("/api/v1/organizations")

    assert response.status_code == 403
    assert response.json() == {"detail": "Multi-factor authentication must be enabled first."}
