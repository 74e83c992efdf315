"""Support access tells people (P2): approvers hear of a request, the requester of its end."""

from django.core import mail

from afspraak.audit.context import AuditContext
from afspraak.audit.models import OutboxMessage
from afspraak.audit.outbox import deliver_due
from afspraak.compliance.models import Approver, SupportPolicy
from afspraak.compliance.support import (
    decide_support_grant,
    decide_support_grant_as_staff,
    request_support_access,
    revoke_support_grant,
)
from afspraak.compliance.support_mail import ENDED_TOPIC, REQUESTED_TOPIC
from afspraak.compliance.tests.staffing import staff_member
from afspraak.testing.access import member_access


def _ask(staff, organization):
    return request_support_access(
        AuditContext(actor=staff), organization, reason="Ticket 4711: invitations bounce", hours=3
    )


def _recipients():
    return sorted(address for message in mail.outbox for address in message.to)


def _payload_keys(topic):
    return [set(m.payload) for m in OutboxMessage.objects.filter(topic=topic)]


def test_owners_hear_of_a_request_and_the_requester_of_the_decision(tenants):
    staff = staff_member(email="helper@afspraak.test")
    staff_member(email="colleague@afspraak.test")
    grant = _ask(staff, tenants.a)
    # Ids only: the mail is built when it leaves.
    assert _payload_keys(REQUESTED_TOPIC) == [{"grant", "user"}]
    deliver_due()

    assert _recipients() == [tenants.owner.user.email]
    body = mail.outbox[0].body
    for fact in ("helper@afspraak.test", tenants.a.name, "Ticket 4711", "3 hours"):
        assert fact in body
    assert f"/o/{tenants.a.slug}/support/#{grant.public_id}" in body

    mail.outbox.clear()
    decide_support_grant(member_access(tenants.owner, reauthenticated=True), grant, approve=True)
    assert _payload_keys(ENDED_TOPIC) == [{"grant", "state"}]
    deliver_due()
    assert _recipients() == ["helper@afspraak.test"]
    assert "approved" in mail.outbox[0].subject
    assert "read-only until" in mail.outbox[0].body

    mail.outbox.clear()
    revoke_support_grant(member_access(tenants.owner), grant)
    deliver_due()
    assert _recipients() == ["helper@afspraak.test"]
    assert "ended" in mail.outbox[0].subject


def test_staff_in_good_standing_but_never_the_requester_hear_under_staff_approval(tenants):
    SupportPolicy.objects.create(organization=tenants.a, approver=Approver.STAFF)
    staff = staff_member(email="helper@afspraak.test")
    colleague = staff_member(email="colleague@afspraak.test")
    staff_member(email="untrained@afspraak.test", missing="training")
    grant = _ask(staff, tenants.a)
    deliver_due()

    # Not the owners, not the requester, not a colleague who could not approve.
    assert _recipients() == ["colleague@afspraak.test"]
    assert "/staff/support/" in mail.outbox[0].body

    mail.outbox.clear()
    decide_support_grant_as_staff(AuditContext(actor=colleague), grant, approve=False)
    deliver_due()
    assert _recipients() == ["helper@afspraak.test"]
    assert "refused" in mail.outbox[0].subject


def test_a_request_decided_before_its_mail_left_sends_none(tenants):
    grant = _ask(staff_member(), tenants.a)
    decide_support_grant(member_access(tenants.owner), grant, approve=False)
    deliver_due()
    # Only the requester's refusal: the owner is not asked to decide a decided request.
    assert [m.to for m in mail.outbox] == [[grant.staff.email]]
