"""Every URL the resolver knows, every kind of visitor: anonymous, outsider, each role (STYLE.md).

Organization pages (``MATRIX``) and organization API endpoints (``API_MATRIX``) run
through every visitor. Routes that are public by design (``PUBLIC``) or personal to
the signed-in user (``PERSONAL``) say so and get their own checks below; third-party
views we do not write (``EXCLUDED_VIEWS``: allauth's, told by their package, not by
their address) and Django's admin (``EXCLUDED_ROUTES``) are listed with the reason. A
route in none of these fails ``test_every_url_is_in_the_matrix``.
"""

import pytest
from django.core import signing
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from afspraak.accounts.tests.signin import reauthenticate
from afspraak.bookings.links import invitee_token
from afspraak.bookings.tests.url_matrix import booking_of, members_booking
from afspraak.compliance.tests.staffing import staff_member
from afspraak.security.tests.second_factor import give_second_factor
from afspraak.tenancy.api_tokens import create_api_token
from afspraak.tenancy.models import ApiTokenScope
from afspraak.tenancy.roles import Role
from afspraak.tenancy.tests.contributions import collect
from afspraak.testing.access import member_access
from afspraak.testing.audit import assert_audited
from afspraak.testing.factories import InvitationFactory, MembershipFactory, StaffUserFactory
from afspraak.testing.logins import log_in_with_second_factor

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


def _a_members_token(tenants):
    access = member_access(tenants.member, reauthenticated=True)
    token, _ = create_api_token(access, name="Sync", scope=ApiTokenScope.ROLE)
    return {"token_id": token.public_id}, {}


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
    "tenancy:branding": ("get", MANAGERS, _nothing),
    "tenancy:embedding": ("get", MANAGERS, _nothing),
    "tenancy:audit_log": ("get", VIEWERS, _nothing),
    "tenancy:audit_log_export": ("get", VIEWERS, _nothing),
    "tenancy:delete": ("get", OWNERS, _nothing),
    "tenancy:api_tokens": ("get", ALL_ROLES, _nothing),
    # Every member may; the form first sends them to confirm their password (302).
    "tenancy:api_token_create": ("post", ALL_ROLES, _nothing),
    # A member's own token: they and those who manage members revoke it, an auditor may not.
    "tenancy:api_token_revoke": ("post", MANAGERS | {Role.MEMBER}, _a_members_token),
    **collect("url_matrix", "MATRIX"),
}
# Pages that first ask an allowed visitor to confirm their password (a 302 there); their
# tests of before and after are with each feature (tenancy/tests/test_audit_log_export.py).
REAUTHENTICATED = {"tenancy:audit_log_export"}
# API endpoints of an organization: (method, roles allowed, build, status when allowed).
# Each endpoint with every method it answers: (method, allowed roles, arguments, success).
# A sensitive change also needs a fresh login: the visitors here have just confirmed
# theirs, so the matrix is about roles (tenancy/tests/test_access.py is about freshness).
API_MATRIX = {
    "api:organization_members": [("get", VIEWERS, _nothing, 200)],
    "api:organization_member": [
        ("get", VIEWERS, _a_member, 200),
        ("delete", MANAGERS, _a_member, 204),
    ],
}
API_CASES = [(name, case[0]) for name, cases in API_MATRIX.items() for case in cases]
# Public by design: what each route is for, and where its check is.
PUBLIC = {
    "home": "the landing page (test_public_routes_answer_anonymous_visitors)",
    "healthz": "the load balancer's health check: says only ok or database unreachable "
    "(server/tests/test_healthz.py)",
    "bookings:organization": "an organization's booking page (test_public_routes_…)",
    "bookings:meeting_type": "a meeting type's booking page (test_public_routes_…)",
    "bookings:book": "the booking form's target (test_public_routes_…)",
    "bookings:manage": "the invitee's link: the signed token is the key (test_invitee_link_…)",
    "bookings:ics": "the invitee's calendar file, same token (test_invitee_link_…)",
    "bookings:cancel": "the invitee's cancel page, same token (test_invitee_link_…)",
    "bookings:reschedule": "the invitee's reschedule page, same token (test_invitee_link_…)",
    "bookings:erase": "the invitee's erasure request, same token (test_erasure)",
    "bookings:new_link": "asking for fresh invitee links: anyone, the same answer for every "
    "address (test_public_routes_…, bookings/tests/test_invitee_link_expiry.py)",
    "^b/(?P<rest>.*)$": "any other /b/ address: the invitee links' private 404",
    "tenancy:invitation_accept": "an invitation link: the hashed token is the key "
    "(tenancy/tests/test_invitations.py)",
    "tenancy:brand_stylesheet": "the accent colour the public pages load "
    "(tenancy/tests/test_branding.py)",
    "tenancy:brand_navigation_stylesheet": "the accent of the members' organization "
    "navigation, as public as the colour itself (tenancy/tests/test_branding.py)",
    "tenancy:brand_logo": "the logo the public pages and e-mails show "
    "(tenancy/tests/test_branding.py)",
    "account_avatar": "a user's picture, shown beside their name on their public booking "
    "pages: anyone with the address (random public id and hash) may fetch it "
    "(accounts/tests/test_avatars.py)",
    # Other apps' public pages, each with its reason, from their tests/url_matrix.py.
    **collect("url_matrix", "PUBLIC"),
}
# The signed-in user's own things, in no organization: anonymous visitors are refused.
PERSONAL = {
    "tenancy:create": ("get", 200),
    # No remembered invitation to accept: the request is refused as bad.
    "tenancy:pending_invitation": ("post", 400),
    "account_profile": ("get", 200),
    "account_end_session": ("post", 302),
    # No file: the upload is refused as bad; nothing to remove: back to the profile page.
    "account_avatar_upload": ("post", 400),
    "account_avatar_remove": ("post", 302),
    "api:organizations": ("get", 200),
    "api:account_password_check": ("post", 400),
    "api:account_password_change": ("post", 400),
}
# The operator's staff pages: (method, build), allowed to staff who logged in with their
# second factor only. Apps add theirs as ``STAFF`` in tests/url_matrix.py.
STAFF = collect("url_matrix", "STAFF")
# Staff pages of support access: (method, build(tenants, staff), status). Anonymous
# visitors go to the login page; anyone who is not staff gets a 404 (no such page for them).
SUPPORT_STAFF = collect("url_matrix", "SUPPORT_STAFF")
# Those of them that hold no customer data, open to staff out of standing: name -> why.
STAFF_WITHOUT_CUSTOMER_DATA = collect("url_matrix", "STAFF_WITHOUT_CUSTOMER_DATA")
# Views we do not write, by the package they come from, and why the matrix leaves them
# out (a view of ours among allauth's, under accounts/, is still in the matrix).
EXCLUDED_VIEWS = {
    # allauth's own login, sign-up, password and MFA pages: tested in accounts/tests.
    "allauth.": "allauth",
}
# Django's admin, every view under it (its own and the redirects and shortcut it adds):
# staff only, behind allauth's MFA login (accounts/tests/test_admin_mfa.py).
EXCLUDED_ROUTES = {"admin/": "django admin"}
VISITORS = ["anonymous", "outsider", *sorted(Role.values)]
ORGANIZATION_ROUTE = "o/<slug:org_slug>/"


def url_routes(*, views: bool = False) -> dict[str, str]:
    """Return every URL the resolver knows, by namespaced name (or route, if unnamed).

    With ``views``, each maps to the dotted path of its view instead of its route.
    """
    found: dict[str, str] = {}

    def walk(patterns, route: str, namespace: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = ":".join(part for part in (namespace, pattern.namespace or "") if part)
                walk(pattern.url_patterns, route + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern):
                full = route + str(pattern.pattern)
                key = full if pattern.name is None else pattern.name
                if pattern.name is not None and namespace:
                    key = f"{namespace}:{pattern.name}"
                found[key] = pattern.lookup_str if views else full

    walk(get_resolver().url_patterns, "", "")
    return found


def test_every_url_is_in_the_matrix():
    listed = set(MATRIX) | set(API_MATRIX) | set(PUBLIC) | set(PERSONAL) | set(STAFF)
    listed |= set(SUPPORT_STAFF)
    routes = url_routes()
    unlisted = {
        key
        for key, view in url_routes(views=True).items()
        if key not in listed
        and not view.startswith(tuple(EXCLUDED_VIEWS))
        and not routes[key].startswith(tuple(EXCLUDED_ROUTES))
    }
    assert not unlisted, f"add these URLs to the URL matrix: {sorted(unlisted)}"


def test_the_matrix_lists_no_url_that_is_gone():
    listed = set(MATRIX) | set(API_MATRIX) | set(PUBLIC) | set(PERSONAL) | set(STAFF)
    listed |= set(SUPPORT_STAFF)
    assert not listed - set(url_routes())


def test_organization_pages_are_the_matrix():
    organization_pages = {
        key for key, route in url_routes().items() if route.startswith(ORGANIZATION_ROUTE)
    }
    assert organization_pages == set(MATRIX)


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
    elif Role(visitor) in allowed and name in REAUTHENTICATED:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_reauthenticate"))
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


def _login(client, tenants, visitor: str) -> None:
    if visitor != "anonymous":
        client.force_login(tenants.of_role(visitor).user)


@pytest.mark.parametrize("visitor", VISITORS)
@pytest.mark.parametrize(("name", "method"), API_CASES)
def test_api_endpoint_answers_each_visitor_as_the_matrix_says(
    client, tenants, name, method, visitor
):
    [(_, allowed, build, success)] = [case for case in API_MATRIX[name] if case[0] == method]
    _login(client, tenants, visitor)
    if visitor != "anonymous":
        reauthenticate(client)
    kwargs, _ = build(tenants)

    response = getattr(client, method)(reverse(name, kwargs={"org_slug": "alpha", **kwargs}))

    if visitor == "anonymous":
        assert response.status_code == 403
    elif visitor == "outsider":
        assert response.status_code == 404
        assert response.json() == {"detail": "No such organization."}
    elif Role(visitor) in allowed:
        assert response.status_code == success, response.content[:300]
    else:
        assert response.status_code == 403


STAFF_VISITORS = ["anonymous", "owner", "staff_without_second_factor", "staff_session_without_mfa"]


@pytest.mark.parametrize("visitor", [*STAFF_VISITORS, "staff_out_of_standing", "staff"])
@pytest.mark.parametrize("name", sorted(STAFF))
def test_staff_url_answers_only_staff_in_standing_who_used_their_second_factor(
    client, tenants, name, visitor
):
    method, build = STAFF[name]
    kwargs, data = build(tenants)
    url = reverse(name, kwargs=kwargs)
    if visitor == "owner":
        client.force_login(tenants.owner.user)
    elif visitor in ("staff", "staff_out_of_standing"):
        # Every console page shows or changes customer data; containment needs a fresh password.
        missing = "training" if visitor == "staff_out_of_standing" else ""
        log_in_with_second_factor(client, staff_member(missing=missing), reauthenticated=True)
    elif visitor.startswith("staff"):
        staff = StaffUserFactory.create()
        if visitor != "staff_without_second_factor":
            give_second_factor(staff)
        client.force_login(staff)

    response = client.post(url, data) if method == "post" else client.get(url)

    if visitor == "anonymous":
        assert response["Location"] == f"{reverse('account_login')}?next={url}"
    elif visitor == "staff_without_second_factor":
        # Staff must enrol before anything (accounts' middleware); the page never opens.
        assert response["Location"] == reverse("mfa_index")
    elif visitor == "staff":
        assert response.status_code == (200 if method == "get" else 302), response.content[:300]
    elif visitor == "staff_out_of_standing":
        assert response.status_code == 403
        assert_audited("tenancy.access.denied", data={"reason": "staff_training_missing"})
    else:
        assert response.status_code == 403
        assert_audited("security.console.refused")


@pytest.mark.parametrize("name", sorted(PERSONAL))
def test_personal_routes_refuse_anonymous_visitors_and_serve_the_user(client, tenants, name):
    method, success = PERSONAL[name]
    url = reverse(name)

    def send():
        if method == "post":
            return client.post(url, {}, content_type="application/json")
        return client.get(url)

    anonymous = send()
    client.force_login(tenants.member.user)
    signed_in = send()

    login = reverse("account_login")
    assert anonymous.status_code == 403 or anonymous["Location"].startswith(login)
    assert signed_in.status_code == success, signed_in.content[:300]
    assert not signed_in.get("Location", "").startswith(login)


@pytest.mark.parametrize("name", sorted(SUPPORT_STAFF))
def test_support_staff_routes_serve_staff_only(client, tenants, name):
    method, build, success = SUPPORT_STAFF[name]
    staff = staff_member()
    lapsed = staff_member(missing="training")

    def send(visitor=staff):
        kwargs, data = build(tenants, visitor)
        url = reverse(name, kwargs=kwargs)
        return url, (client.post(url, data) if method == "post" else client.get(url))

    url, anonymous = send()
    client.force_login(tenants.owner.user)
    _, customer = send()
    client.force_login(staff)
    _, password_only = send()
    log_in_with_second_factor(client, lapsed)
    _, out_of_standing = send(lapsed)
    log_in_with_second_factor(client, staff)
    _, served = send()

    assert anonymous.status_code == 302
    assert anonymous["Location"] == f"{reverse('account_login')}?next={url}"
    assert customer.status_code == 404
    # A session opened with the password alone reaches no staff page.
    assert password_only.status_code == 403
    # Customer data is for staff in good standing; the pages without any stay open to all staff.
    if name in STAFF_WITHOUT_CUSTOMER_DATA:
        assert out_of_standing.status_code == success, out_of_standing.content[:300]
    else:
        assert out_of_standing.status_code == 403
        assert_audited(
            "tenancy.access.denied",
            actor=lapsed,
            data={"reason": "staff_training_missing", "page": name},
        )
    assert served.status_code == success, served.content[:300]


def test_public_routes_answer_anonymous_visitors(client, tenants, clock):
    meeting_type = members_booking(tenants).meeting_type

    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("bookings:organization", args=["alpha"])).status_code == 200
    page = reverse("bookings:meeting_type", args=["alpha", meeting_type.slug])
    assert client.get(page).status_code == 200
    assert (
        client.get(reverse("bookings:meeting_type", args=["beta", meeting_type.slug])).status_code
        == 404
    )
    assert client.get(reverse("bookings:book", args=["beta", meeting_type.slug])).status_code == 404
    assert client.get(reverse("bookings:new_link", args=["alpha"])).status_code == 200
    assert client.get(reverse("bookings:new_link", args=["no-such-org"])).status_code == 404


INVITEE_PAGES = ["bookings:manage", "bookings:ics", "bookings:cancel", "bookings:reschedule"]


@pytest.mark.parametrize("name", INVITEE_PAGES)
def test_invitee_link_opens_its_booking_and_nothing_else(client, tenants, clock, name):
    mine = members_booking(tenants)
    theirs = booking_of(tenants.b, tenants.outsider.user)
    token = invitee_token(mine)
    salt = "afspraak.bookings.invitee-link"
    # Genuinely signed, but naming organization A with B's booking: a link cannot cross.
    crossed = signing.dumps(
        {"o": tenants.a.public_id, "b": theirs.public_id}, salt=salt, compress=False
    )

    assert client.get(reverse(name, args=[token])).status_code == 200
    assert client.get(reverse(name, args=[token[:-2] + "xx"])).status_code == 404
    assert client.get(reverse(name, args=[crossed])).status_code == 404
    assert client.get(f"/b/{token}/elsewhere/").status_code == 404
