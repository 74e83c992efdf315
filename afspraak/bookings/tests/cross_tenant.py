"""Cross-tenant probes of the bookings models (collected by the tenancy tests).

A's owner, who sees and acts on every booking of A, uses B's ids and B's invitee's
e-mail address in A's pages: each must answer exactly as a made-up one does, and B's
rows stay as they were.
"""

import re
from datetime import timedelta
from urllib.parse import quote

from afspraak.bookings.models import (
    Booking,
    ErasureRequest,
    Invitee,
    Reminder,
    ReminderStatus,
    Status,
)
from afspraak.bookings.tests.url_matrix import booking_of
from afspraak.tenancy.context import organization_context

# Each render masks the CSRF token afresh; the rest of two pages must be the same.
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
MADE_UP_BOOKING = "bkg_00000000000000000000"
ACTIONS = (
    ("get", "", None),
    ("post", "cancel/", {"reason": "probe"}),
    ("post", "approve/", None),
    ("post", "decline/", {"reason": "probe"}),
)


def _refused_like_a_made_up_id(client, public_id):
    for method, suffix, data in ACTIONS:
        url = "/o/alpha/bookings/{}/" + suffix
        probed = getattr(client, method)(url.format(public_id), data or {})
        missing = getattr(client, method)(url.format(MADE_UP_BOOKING), data or {})
        assert probed.status_code == missing.status_code == 404
        assert probed.content == missing.content


def _theirs(tenants, **kwargs):
    return booking_of(tenants.b, tenants.outsider.user, **kwargs)


def probe_booking(client, tenants):
    for booking in (_theirs(tenants), _theirs(tenants, requires_approval=True, n=1)):
        _refused_like_a_made_up_id(client, booking.public_id)
        listing = client.get("/o/alpha/bookings/", {"tab": "all"}).content.decode()
        assert booking.public_id not in listing
        with organization_context(tenants.b):
            stored = Booking.objects.get(pk=booking.pk)
            assert (stored.status, stored.sequence) == (booking.status, booking.sequence)


def probe_reminder(client, tenants):
    booking = _theirs(tenants)
    with organization_context(tenants.b):
        reminder, _ = Reminder.objects.get_or_create(
            organization=tenants.b,
            booking=booking,
            offset_minutes=60,
            defaults={"due_at": booking.start - timedelta(hours=1)},
        )
    # No page takes a reminder's id; where a booking's id goes it is refused like any
    # made-up id, and acting on B's booking through A's pages leaves its reminders be.
    _refused_like_a_made_up_id(client, reminder.public_id)
    _refused_like_a_made_up_id(client, booking.public_id)
    with organization_context(tenants.b):
        stored = Reminder.objects.get(pk=reminder.pk)
        assert stored.status == ReminderStatus.SCHEDULED
        assert Booking.objects.get(pk=booking.pk).status == Status.CONFIRMED


def probe_invitee(client, tenants):
    booking = _theirs(tenants, n=7, name="Beta Invitee")
    address = "invitee7@example.test"
    made_up = "nobody7@example.test"
    for tab in ("all", "upcoming"):
        probed = client.get("/o/alpha/bookings/", {"tab": tab, "email": address})
        missing = client.get("/o/alpha/bookings/", {"tab": tab, "email": made_up})
        assert probed.status_code == missing.status_code == 200
        shown, unknown = (_CSRF.sub("", r.content.decode()) for r in (probed, missing))
        for typed, wanted in ((address, made_up), (quote(address), quote(made_up))):
            shown = shown.replace(typed, wanted)
        assert shown == unknown
        assert "No bookings here for that search" in shown
        # Names are compared after decryption: only this organization's invitees'.
        by_name = client.get("/o/alpha/bookings/", {"tab": tab, "name": "Beta Invitee"})
        assert by_name.context["rows"] == []
    with organization_context(tenants.b):
        invitee = Invitee.objects.get(pk=booking.invitee_id)
        assert (invitee.name, invitee.email) == ("Beta Invitee", address)
    _refused_like_a_made_up_id(client, invitee.public_id)


def probe_erasure_request(client, tenants):
    booking = _theirs(tenants, n=8)
    with organization_context(tenants.b):
        request = ErasureRequest.objects.create(
            organization=tenants.b,
            invitee_public_id=booking.invitee.public_id,
            booking_public_id=booking.public_id,
        )
    listing = client.get("/o/alpha/bookings/erasures/")
    assert listing.status_code == 200
    page = listing.content.decode()
    assert request.public_id not in page
    assert booking.public_id not in page
    _refused_like_a_made_up_id(client, request.public_id)


PROBES = {
    "bookings.Booking": probe_booking,
    "bookings.ErasureRequest": probe_erasure_request,
    "bookings.Reminder": probe_reminder,
    "bookings.Invitee": probe_invitee,
}
