"""Cross-tenant probes: organization B's ids used in organization A's URLs and forms.

Every probe is made by A's owner (who may do anything in A) and must get the same 404
as a made-up id, leaving B's object as it was.
"""

import pytest

from afspraak.audit.trail import record
from afspraak.tenancy.branding import update_branding
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.models import Invitation, Membership
from afspraak.tenancy.rls import RLS_EXEMPT_TABLES, tenant_models
from afspraak.tenancy.tests.contributions import collect
from afspraak.testing.access import member_access
from afspraak.testing.factories import InvitationFactory
from afspraak.testing.images import picture


def probe_membership(client, tenants):
    theirs = tenants.outsider
    for action, data in (("role", {"role": "member"}), ("remove", {})):
        probed = client.post(f"/o/alpha/members/{theirs.public_id}/{action}/", data)
        missing = client.post(f"/o/alpha/members/mem_00000000000000000000/{action}/", data)
        assert probed.status_code == missing.status_code == 404
        assert probed.content == missing.content
    for method in ("get", "delete"):
        url = "/api/v1/organizations/alpha/members/"
        probed = getattr(client, method)(url + theirs.public_id)
        missing = getattr(client, method)(url + "mem_00000000000000000000")
        assert probed.status_code == missing.status_code == 404
        assert probed.json() == missing.json()
    with organization_context(tenants.b):
        assert Membership.objects.get(pk=theirs.pk).role == "owner"


def probe_invitation(client, tenants):
    theirs = InvitationFactory.create(organization=tenants.b)
    probed = client.post(f"/o/alpha/invitations/{theirs.public_id}/revoke/")
    missing = client.post("/o/alpha/invitations/inv_00000000000000000000/revoke/")
    assert probed.status_code == missing.status_code == 404
    assert probed.content == missing.content
    with organization_context(tenants.b):
        assert Invitation.objects.get(pk=theirs.pk).is_pending


def probe_organization_logo(client, tenants):
    update_branding(member_access(tenants.outsider), accent_colour="", logo=picture("PNG"))
    # No id names a logo: only the slug in its address, which serves that organization's own.
    theirs = client.get("/o-brand/beta/0/logo")
    probed = client.get("/o-brand/alpha/0/logo")
    assert theirs.status_code == 200
    assert probed.status_code == 404


# One probe per tenant model: a new tenant model fails the completeness test until it
# has a probe, here or in its app's tests/cross_tenant.py (see contributions.py).
PROBES = {
    "tenancy.Membership": probe_membership,
    "tenancy.Invitation": probe_invitation,
    "tenancy.OrganizationLogo": probe_organization_logo,
    **collect("cross_tenant", "PROBES"),
}
RUNNABLE = sorted(label for label, probe in PROBES.items() if callable(probe))


def test_every_tenant_model_has_a_cross_tenant_probe():
    models = {m._meta.label for m in tenant_models() if m._meta.db_table not in RLS_EXEMPT_TABLES}
    assert models == set(PROBES)
    # An entry without a probe must say why no URL or form of an organization takes its id.
    assert all(callable(probe) or (isinstance(probe, str) and probe) for probe in PROBES.values())


@pytest.mark.parametrize("model", RUNNABLE)
def test_another_organizations_object_is_not_found_and_unchanged(client, tenants, model):
    client.force_login(tenants.owner.user)
    PROBES[model](client, tenants)


def test_audit_log_filter_refuses_an_actor_of_another_organization(client, tenants):
    record("tenancy.security.updated", actor=tenants.outsider.user, organization=tenants.b)
    client.force_login(tenants.owner.user)
    response = client.get("/o/alpha/audit/", {"actor": tenants.outsider.user.public_id})
    assert response.status_code == 400
    assert "tenancy.security.updated" not in response.content.decode()
    assert "tenancy.security.updated" not in client.get("/o/alpha/audit/").content.decode()
