"""Accesses for calling tenancy's domain functions directly in tests."""

from dataclasses import replace
from typing import Any

from afspraak.audit.context import AuditContext
from afspraak.tenancy.access import Access, access_for_member
from afspraak.tenancy.models import Organization


def access_of(user: Any, organization: Organization, *, reauthenticated: bool = True) -> Access:
    """Return ``user``'s access to ``organization`` as a request would build it.

    Re-authenticated by default: most tests are about what the role allows; the tests of
    the re-authentication rule pass ``reauthenticated=False``.
    """
    access = access_for_member(user, organization, AuditContext.system(user))
    return replace(access, reauthenticated=reauthenticated)
