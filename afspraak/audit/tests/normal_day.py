"""A realistic day of audit events, for the detection rules to stay quiet on.

Two organizations' people log in (a few with their second factor), mistype a password
now and then (one of them tries an address of theirs that has no account, over and
over), invitees book and cancel, an owner tidies up a schedule and a meeting type,
someone is given the member role, a member is refused a page their role does not allow,
the nightly backup succeeds and the keys rotate.
"""

from datetime import timedelta
from typing import Any

import time_machine

from afspraak.accounts.login_identity import login_identity
from afspraak.audit.context import AuditContext
from afspraak.audit.models import Outcome
from afspraak.audit.trail import record
from afspraak.tenancy.roles import Role
from afspraak.testing.factories import UserFactory
from afspraak.testing.tenants import Tenants

OFFICE_ADDRESS = "198.51.100.20"  # Alpha's office: everyone there behind one NAT address


def replay_normal_day(clock: time_machine.Traveller, tenants: Tenants) -> int:
    """Record a working day of events from 07:00 on; return how many were recorded."""
    count = 0

    def at(minutes: int, action: str, **kwargs: Any) -> None:
        nonlocal count
        clock.shift(timedelta(minutes=minutes))
        record(action, **kwargs)
        count += 1

    people = [*tenants.users, *UserFactory.create_batch(10)]
    office = [AuditContext(actor=None, ip_address=OFFICE_ADDRESS, user_agent="Firefox")]

    for index, person in enumerate(people):
        context = AuditContext(
            actor=person, ip_address=f"203.0.113.{index + 10}", user_agent="Firefox"
        )
        if index in (2, 5, 9):
            # A mistyped password or two before the right one (from the office NAT for two).
            source = office[0] if index != 9 else context.acting_as(None)
            mistyped = {
                "known_account": True,
                "reason": "invalid_credentials",
                "identity": login_identity(person.email),
            }
            at(
                3,
                "accounts.login.failed",
                context=source,
                target=person,
                outcome=Outcome.FAILURE,
                data=mistyped,
            )
            if index == 5:
                at(
                    1,
                    "accounts.login.failed",
                    context=source,
                    target=person,
                    outcome=Outcome.FAILURE,
                    data=mistyped,
                )
        if index == 4:
            # Their private address, which has no account, tried five times from the office
            # before they remember the work one: one identity, not five accounts.
            for _ in range(5):
                at(
                    1,
                    "accounts.login.failed",
                    context=office[0],
                    outcome=Outcome.FAILURE,
                    data={
                        "known_account": False,
                        "reason": "invalid_credentials",
                        "identity": login_identity("private.person@mail.test"),
                    },
                )
        at(
            2,
            "accounts.login.succeeded",
            context=context,
            target=person,
            data={"methods": ["password"]},
        )
        if index % 3 == 0:
            at(
                0,
                "accounts.mfa.used",
                context=context,
                target=person,
                data={
                    "authenticator_type": "totp",
                    "authenticator_id": "1",
                    "reauthentication": False,
                },
            )
        if index == 7:
            # A typo in the authenticator code, then the right one.
            at(
                1,
                "accounts.mfa.failed",
                context=context.acting_as(None),
                target=person,
                outcome=Outcome.FAILURE,
                data={
                    "authenticator_type": "totp",
                    "authenticator_id": "1",
                    "reauthentication": False,
                },
            )
    # Invitees book and cancel through the day, as visitors of the booking pages.
    visitor = AuditContext(ip_address="192.0.2.44", user_agent="Safari")
    for hour in range(9):
        organization = tenants.a if hour % 2 else tenants.b
        at(
            30,
            "bookings.booking.created",
            context=visitor,
            organization=organization,
            data={"booking": f"bkg_{hour}"},
        )
        if hour % 4 == 0:
            at(
                10,
                "bookings.booking.cancelled",
                context=visitor,
                organization=organization,
                data={"booking": f"bkg_{hour}"},
            )
    owner = AuditContext(actor=tenants.owner.user, ip_address="203.0.113.10")
    # The owner tidies up: one schedule, one meeting type, an override, one old member.
    at(5, "scheduling.schedule.deleted", context=owner, organization=tenants.a)
    at(1, "scheduling.meeting_type.deleted", context=owner, organization=tenants.a)
    at(
        1,
        "scheduling.schedule.override_removed",
        context=owner,
        organization=tenants.a,
        data={"override": "ovr_1"},
    )
    at(
        2,
        "tenancy.member.removed",
        context=owner,
        organization=tenants.a,
        target=tenants.auditor,
        data={"user": tenants.auditor.user.public_id, "role": Role.AUDITOR},
    )
    at(
        3,
        "tenancy.member.role_changed",
        context=owner,
        organization=tenants.a,
        target=tenants.admin,
        data={"user": tenants.admin.user.public_id, "from": Role.ADMIN, "to": Role.MEMBER},
    )
    at(4, "tenancy.invitation.created", context=owner, organization=tenants.a)
    # A member tries the invitation page their role does not allow (not staff: no alert).
    at(
        7,
        "tenancy.access.denied",
        context=AuditContext(actor=tenants.member.user, ip_address="203.0.113.12"),
        organization=tenants.a,
        outcome=Outcome.DENIED,
        data={"reason": "permission", "organization": tenants.a.public_id},
    )
    # A key rotation that starts and finishes, and the nightly backup.
    system = AuditContext.system()
    at(
        10,
        "crypto.org_key.rotation_started",
        context=system,
        organization=tenants.a,
        data={"new_key_id": 2},
    )
    at(
        20,
        "crypto.org_key.rotated",
        context=system,
        organization=tenants.a,
        data={"new_key_id": 2, "rows_resealed": 40},
    )
    for person in people[:5]:
        at(30, "accounts.logout", context=AuditContext(actor=person), target=person)
    at(120, "backups.backup.completed", context=system, data={"backup": "bkp_1"})
    at(60, "backups.backup.pruned", context=system, data={"deleted": 1})
    return count
