"""Every organization URL, every kind of visitor: anonymous, outsider, each role (STYLE.md)."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from afspraak.tenancy.roles import Role
from afspraak.tenancy.tests.contributions import collect
from afspraak.tenancy.tests.factories import InvitationFactory, MembershipFactory

ALL_ROLES = frozenset(Role)
VIEWERS = frozenset({Role.OWNER, Role.ADMIN, Role.AUDITOR})
MANAGERS = frozenset({Role.OWNER, Role.ADMIN})
OWNERS = frozenset({Role.OWNER})


def _nothing(tenants):
    return {}, {}


def _a_member(tenants):
    return {"member_id": tenants.member.public_id}, {"role": Role.AUDITOR}


def _an_invitation(tenants):
    return {"invitation_id": InvitationFactory.create(organization=tenants.a).public_id}, {}


# URL name: (method, roles allowed, build(tenants) -> (URL kwargs, POST data)). Written
# from the role descriptions of the issue, not from roles.py, so a wrong entry in the
# permission table shows up here. Other apps add theirs in tests/url_matrix.py.
MATRIX = {
    "tenancy:home": ("get", ALL_ROLES, _nothing),
    "tenancy:switch": ("post", ALL_ROLES, _nothing),
    "tenancy:leave": ("post", ALL_ROLES, _nothing),
    "tenancy:members": ("get", VIEWERS, _nothing),
    "tenancy:invite": ("get", MANAGERS, _nothing),
    "tenancy:member_role": ("post", MANAGERS, _a_member),
    "tenancy:member_remove": ("post", MANAGERS, _a_member),
    "tenancy:invitation_revoke": ("post", MANAGERS, _an_invitation),
    "tenancy:security": ("get", VIEWERS, _nothing),
    "tenancy:security_edit": ("get", MANAGERS, _nothing),
    "tenancy:audit_log": ("get", VIEWERS, _nothing),
    "tenancy:delete": ("get", OWNERS, _nothing),
    **collect("url_matrix", "MATRIX"),
}
VISITORS = ["anonymous", "outsider", *sorted(Role.values)]
ORGANIZATION_ROUTE = "o/<slug:org_slug>/"


def organization_url_names() -> set[str]:
    """Return the names of every URL under /o/<org_slug>/, from the URL resolver itself."""
    found: set[str] = set()

    def walk(patterns, route: str, namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = ":".join(part for part in (namespace, pattern.namespace or "") if part)
                walk(pattern.url_patterns, route + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern):
                full = route + str(pattern.pattern)
                if full.startswith(ORGANIZATION_ROUTE):
                    found.add(f"{namespace}:{pattern.name}" if namespace else str(pattern.name))

    walk(get_resolver().url_patterns, "", "")
    return found


def test_every_organization_url_is_in_the_matrix():
    assert organization_url_names() == set(MATRIX)


def _request(client, tenants, name: str, method: str, build):
    kwargs, data = build(tenants)
    url = reverse(name, kwargs={"org_slug": tenants.a.slug, **kwargs})
    return url, (client.post(url, data) if method == "post" else client.get(url))


@pytest.mark.parametrize("visitor", VISITORS)
@pytest.mark.parametrize("name", sorted(MATRIX))
def test_organization_url_answers_each_visitor_as_the_matrix_says(client, tenants, name, visitor):
    method, allowed, build = MATRIX[name]
    # A second owner, so that an owner may leave (the last one may not).
    MembershipFactory.create(organization=tenants.a, role=Role.OWNER)
    if visitor == "outsider":
        client.force_login(tenants.outsider.user)
    elif visitor != "anonymous":
        client.force_login(tenants.of_role(visitor).user)

    url, response = _request(client, tenants, name, method, build)

    if visitor == "anonymous":
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('account_login')}?next={url}"
    elif visitor == "outsider":
        assert response.status_code == 404
    elif Role(visitor) in allowed:
        assert response.status_code == (200 if method == "get" else 302), response.content[:300]
    else:
        assert response.status_code == 403


def test_outsider_gets_the_same_404_as_for_a_missing_organization(client, tenants):
    client.force_login(tenants.outsider.user)
    existing = client.get(reverse("tenancy:members", args=[tenants.a.slug]))
    missing = client.get(reverse("tenancy:members", args=["no-such-organization"]))
    assert existing.status_code == missing.status_code == 404
    assert existing.content == missing.content
