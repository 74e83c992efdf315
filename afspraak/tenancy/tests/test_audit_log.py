"""The organization's audit log page: its events only, filters, pages, a fixed query count."""

from datetime import UTC, datetime

import pytest
import time_machine

from afspraak.audit.catalogue import ACTIONS
from afspraak.audit.trail import record
from afspraak.tenancy.views import AUDIT_PAGE_SIZE

# Codes made up for these tests, so what a page shows cannot come from a real event.
MADE_UP_ACTIONS = [
    "tenancy.test.alpha_event",
    "tenancy.test.beta_event",
    "accounts.test.no_organization",
    *(f"tenancy.test.e{index:03}" for index in range(AUDIT_PAGE_SIZE + 10)),
]


@pytest.fixture(autouse=True)
def _made_up_actions(monkeypatch):
    for action in MADE_UP_ACTIONS:
        monkeypatch.setitem(ACTIONS, action, "made up for a test")


def log(action, *, actor, organization, at=None):
    with time_machine.travel(at or datetime(2026, 5, 4, 12, tzinfo=UTC), tick=False):
        record(action, actor=actor, organization=organization)


def test_audit_log_shows_this_organizations_events_only(client, tenants):
    log("tenancy.test.alpha_event", actor=tenants.admin.user, organization=tenants.a)
    log("tenancy.test.beta_event", actor=tenants.outsider.user, organization=tenants.b)
    log("accounts.test.no_organization", actor=tenants.admin.user, organization=None)
    client.force_login(tenants.auditor.user)
    page = client.get("/o/alpha/audit/").content.decode()
    assert "tenancy.test.alpha_event" in page
    assert "admin@a.test" in page
    assert "tenancy.test.beta_event" not in page
    assert "accounts.test.no_organization" not in page


def test_audit_log_filters_by_actor_action_and_date(client, tenants):
    a = tenants.a
    log("tenancy.member.removed", actor=tenants.admin.user, organization=a)
    log("tenancy.invitation.created", actor=tenants.owner.user, organization=a)
    log(
        "tenancy.member.left",
        actor=tenants.member.user,
        organization=a,
        at=datetime(2026, 5, 1, 23, 59, tzinfo=UTC),
    )
    client.force_login(tenants.owner.user)

    def shown(**filters):
        page = client.get("/o/alpha/audit/", filters).content.decode()
        return {
            action
            for action in (
                "tenancy.member.removed",
                "tenancy.invitation.created",
                "tenancy.member.left",
            )
            if action in page
        }

    assert shown(actor=tenants.admin.user.public_id) == {"tenancy.member.removed"}
    assert shown(action="tenancy.member") == {"tenancy.member.removed", "tenancy.member.left"}
    assert shown(since="2026-05-02") == {"tenancy.member.removed", "tenancy.invitation.created"}
    assert shown(until="2026-05-01") == {"tenancy.member.left"}
    assert shown(action="tenancy.member", since="2026-05-04", until="2026-05-04") == {
        "tenancy.member.removed"
    }


def test_audit_log_refuses_bad_filters_with_a_message(client, tenants):
    client.force_login(tenants.owner.user)
    for bad in (
        {"action": "DROP TABLE"},
        {"since": "yesterday"},
        {"since": "2026-05-02", "until": "2026-05-01"},
    ):
        response = client.get("/o/alpha/audit/", bad)
        assert response.status_code == 400
        assert 'class="errorlist' in response.content.decode()


def test_audit_log_pages_and_keeps_the_query_count_fixed(
    client, tenants, django_assert_max_num_queries
):
    client.force_login(tenants.admin.user)
    users = [m.user for m in (tenants.owner, tenants.admin, tenants.member, tenants.auditor)]
    for index in range(3):
        log(f"tenancy.test.e{index:03}", actor=users[index % 4], organization=tenants.a)
    client.get("/o/alpha/audit/")  # warm the session and the caches
    with django_assert_max_num_queries(100) as few:
        client.get("/o/alpha/audit/")
    for index in range(3, AUDIT_PAGE_SIZE + 10):
        log(f"tenancy.test.e{index:03}", actor=users[index % 4], organization=tenants.a)
    with django_assert_max_num_queries(len(few.captured_queries)) as many:
        first = client.get("/o/alpha/audit/")
    assert len(many.captured_queries) == len(few.captured_queries)
    # Session, user, MFA check, organization, membership, count, events and the
    # transaction and RLS-setting statements around them, and allauth's look at the ways
    # the user can confirm it is them (its re-authentication check, for the export
    # button: an e-mail address and three kinds of second factor); not one query per event.
    assert len(few.captured_queries) <= 28

    assert first.context["page"].paginator.num_pages == 2
    assert len(first.context["lines"]) == AUDIT_PAGE_SIZE
    second = client.get("/o/alpha/audit/", {"page": 2, "action": "tenancy.test"})
    assert len(second.context["lines"]) == AUDIT_PAGE_SIZE + 10 - AUDIT_PAGE_SIZE
    assert "action=tenancy.test&amp;page=1" in second.content.decode()
    assert client.get("/o/alpha/audit/", {"page": "nonsense"}).status_code == 200
