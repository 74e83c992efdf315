"""The demo data `afspraak setup` creates, so a new user can log in at once."""

import stat

import pytest

from afspraak.crypto.models import OrganizationKeyset
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.demo import DEMO_OWNER_EMAIL, create_demo_organization
from afspraak.tenancy.models import Membership, Organization
from afspraak.tenancy.roles import Role

pytestmark = pytest.mark.django_db


def test_demo_owner_logs_in_with_the_printed_password_and_owns_the_organization(client, tmp_path):
    credentials = tmp_path / "demo-login.txt"

    login = create_demo_organization(credentials)

    organization = Organization.objects.get(slug="demo")
    with organization_context(organization):
        assert Membership.objects.get().role == Role.OWNER
        assert OrganizationKeyset.objects.count() == 2
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    response = client.post("/accounts/login/", {"login": login.email, "password": login.password})
    assert response.status_code == 302
    assert client.get("/o/demo/").status_code == 200


def test_running_setup_again_keeps_the_same_login(tmp_path):
    credentials = tmp_path / "demo-login.txt"
    first = create_demo_organization(credentials)

    again = create_demo_organization(credentials)

    assert (again.email, again.password, again.created) == (DEMO_OWNER_EMAIL, first.password, False)
    assert Organization.objects.filter(slug="demo").count() == 1


def test_a_lost_login_file_gives_the_owner_a_new_password(client, tmp_path):
    credentials = tmp_path / "demo-login.txt"
    first = create_demo_organization(credentials)
    credentials.unlink()

    second = create_demo_organization(credentials)

    assert second.password != first.password
    response = client.post("/accounts/login/", {"login": second.email, "password": second.password})
    assert response.status_code == 302
