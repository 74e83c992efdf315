"""Every write path that acts for an organization records an audit event a test checks.

A domain function takes an ``Access`` first. Each one is either a write, listed in
``WRITES`` with the codes it records, or a read or check, listed in ``READS``; a new
one in neither list fails here, and so does a write whose codes are not recorded in
its module or not asserted by any test.
"""

import importlib
import inspect
import pkgutil
from pathlib import Path

from django.http import HttpRequest

import afspraak
from afspraak.audit.catalogue import ACTIONS
from afspraak.tenancy.access import Access

WRITES: dict[str, set[str]] = {
    "afspraak.compliance.support.decide_support_grant": {
        "compliance.support.approved",
        "compliance.support.denied",
    },
    "afspraak.compliance.support.revoke_support_grant": {"compliance.support.revoked"},
    "afspraak.compliance.subprocessors.subscribe_to_subprocessors": {
        "compliance.subprocessor.subscribed"
    },
    "afspraak.compliance.subprocessors.unsubscribe_from_subprocessors": {
        "compliance.subprocessor.unsubscribed"
    },
    "afspraak.compliance.reviews.decide_review_item": {
        "compliance.access_review.confirmed",
        "compliance.access_review.revoked",
    },
    "afspraak.compliance.support.set_support_approver": {"compliance.support.approver_changed"},
    "afspraak.bookings.booking.book_meeting": {"bookings.booking.created"},
    "afspraak.bookings.booking.reschedule_booking": {"bookings.booking.rescheduled"},
    "afspraak.bookings.reschedule_requests.ask_invitee_to_reschedule": {
        "bookings.booking.reschedule_requested"
    },
    "afspraak.bookings.booking.cancel_booking": {"bookings.booking.cancelled"},
    "afspraak.bookings.booking.approve_booking": {"bookings.booking.approved"},
    "afspraak.bookings.booking.decline_booking": {"bookings.booking.declined"},
    "afspraak.bookings.erasure.erase_invitee_data": {
        "bookings.invitee.erased",
        "bookings.booking.cancelled",
    },
    "afspraak.scheduling.meeting_types.create_meeting_type": {"scheduling.meeting_type.created"},
    "afspraak.scheduling.meeting_types.update_meeting_type": {"scheduling.meeting_type.updated"},
    "afspraak.scheduling.meeting_types.retire_meeting_type": {
        "scheduling.meeting_type.disabled",
        "scheduling.meeting_type.deleted",
    },
    "afspraak.scheduling.schedules.create_schedule": {"scheduling.schedule.created"},
    "afspraak.scheduling.schedules.update_schedule": {"scheduling.schedule.updated"},
    "afspraak.scheduling.schedules.delete_schedule": {"scheduling.schedule.deleted"},
    "afspraak.scheduling.schedules.set_date_override": {"scheduling.schedule.override_set"},
    "afspraak.scheduling.schedules.remove_date_override": {"scheduling.schedule.override_removed"},
    "afspraak.tenancy.branding.update_branding": {"tenancy.branding.updated"},
    "afspraak.tenancy.embedding.update_embed_origins": {"tenancy.embedding.updated"},
    "afspraak.tenancy.invitations.invite_member": {"tenancy.invitation.created"},
    "afspraak.tenancy.invitations.revoke_invitation": {"tenancy.invitation.revoked"},
    "afspraak.tenancy.membership.change_member_role": {"tenancy.member.role_changed"},
    "afspraak.tenancy.membership.leave_organization": {"tenancy.member.left"},
    "afspraak.tenancy.membership.remove_member": {"tenancy.member.removed"},
    "afspraak.tenancy.offboarding.offboard_member": {"tenancy.offboarding.sessions_ended"},
    "afspraak.tenancy.offboarding.revoke_pending_invitations_of": {"tenancy.invitation.revoked"},
    "afspraak.tenancy.organizations.delete_organization": {"tenancy.organization.deleted"},
    "afspraak.tenancy.organizations.update_security_settings": {"tenancy.security.updated"},
    "afspraak.tenancy.audit_log.export_audit_log": {"tenancy.audit_log.exported"},
    "afspraak.tenancy.api_tokens.create_api_token": {"tenancy.api_token.created"},
    "afspraak.tenancy.api_tokens.revoke_api_token": {"tenancy.api_token.revoked"},
    "afspraak.tenancy.api_tokens.revoke_api_tokens_of": {"tenancy.api_token.revoked"},
}
# Reads and checks: they change nothing (their refusals are audited by the edges).
READS = {
    "afspraak.compliance.standing.staff_gate",
    "afspraak.compliance.reviews.get_review_item_for",
    "afspraak.compliance.subprocessors.is_subscribed",
    "afspraak.compliance.reviews.review_items_of",
    "afspraak.compliance.reviews.token_abilities_of",
    "afspraak.security.gates.is_suspended",
    "afspraak.security.gates.suspension_check",
    "afspraak.compliance.support.get_support_grant_for",
    "afspraak.compliance.support.support_grants_of",
    "afspraak.bookings.booking.free_slots",
    "afspraak.bookings.erasure.erasure_requests_for",
    "afspraak.bookings.host_access.bookings_for",
    "afspraak.bookings.host_home.host_home_for",
    "afspraak.bookings.host_access.get_booking_for",
    "afspraak.bookings.host_access.require_booking_host_rights",
    "afspraak.bookings.host_access.sees_all_bookings",
    # Sends fresh links to the invitee's own address (through the outbox); stores nothing.
    "afspraak.bookings.link_renewal.request_fresh_links",
    "afspraak.bookings.public_views.day_slots",
    "afspraak.bookings.public_views.slot_picker",
    "afspraak.scheduling.access.get_meeting_type_for",
    "afspraak.scheduling.access.get_schedule_for",
    "afspraak.scheduling.access.manages_all_hosts",
    "afspraak.scheduling.access.meeting_types_for",
    "afspraak.scheduling.access.require_host_rights",
    "afspraak.scheduling.access.schedules_for",
    "afspraak.tenancy.access.get_invitation_for",
    "afspraak.tenancy.audit_log.audit_events_for",
    "afspraak.tenancy.audit_log.readable_lines",
    "afspraak.tenancy.access.get_membership_for",
    "afspraak.tenancy.access.members_of",
    "afspraak.tenancy.api_tokens.api_tokens_of",
    "afspraak.tenancy.api_tokens.get_api_token_for",
    "afspraak.tenancy.api_tokens.token_permissions",
}
SOURCE = Path(afspraak.__file__).parent


def _domain_functions() -> set[str]:
    """Return the names of the project's public functions whose first parameter is an Access."""
    found = set()
    for module_info in pkgutil.walk_packages(afspraak.__path__, "afspraak."):
        name = module_info.name
        if ".tests" in name or ".migrations" in name or name.startswith("afspraak.testing"):
            continue
        module = importlib.import_module(name)
        for attribute, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ != name or attribute.startswith("_"):
                continue
            parameters = list(inspect.signature(function).parameters.values())
            if parameters and parameters[0].annotation in (Access, "Access"):
                found.add(f"{name}.{attribute}")
    return found


def _test_sources() -> str:
    return "\n".join(
        path.read_text(encoding="utf-8")
        for path in SOURCE.rglob("test_*.py")
        if path.name != Path(__file__).name
    )


def test_every_domain_function_is_listed_as_a_write_or_a_read():
    found = _domain_functions()
    unlisted = found - set(WRITES) - READS
    assert not unlisted, f"say in WRITES (with its audit codes) or READS what these do: {unlisted}"
    assert not (set(WRITES) | READS) - found, "these listed functions no longer exist"


def test_no_domain_function_takes_a_request():
    # The edges turn a request into an Access and an AuditContext; the domain never sees HTTP.
    taking_requests = set()
    for dotted in _domain_functions():
        module, _, attribute = dotted.rpartition(".")
        function = getattr(importlib.import_module(module), attribute)
        for parameter in inspect.signature(function).parameters.values():
            if parameter.name == "request" or parameter.annotation in (
                HttpRequest,
                "HttpRequest",
            ):
                taking_requests.add(dotted)
    assert not taking_requests


def test_every_write_records_catalogued_codes_that_a_test_asserts():
    tests = _test_sources()
    for qualified_name, codes in WRITES.items():
        module = importlib.import_module(qualified_name.rsplit(".", 1)[0])
        text = inspect.getsource(module)
        for code in codes:
            assert code in ACTIONS, f"{qualified_name}: {code} is not catalogued"
            parts = code.split(".")
            # A code is written out whole, or built from its tail ("schedule.created",
            # "created") by a module's small recording helper.
            tails = {f'"{".".join(parts[index:])}"' for index in range(1, len(parts))}
            assert code in text or any(tail in text for tail in tails), (
                f"{qualified_name} does not record {code}"
            )
            assert code in tests, f"no test asserts {code} (recorded by {qualified_name})"
