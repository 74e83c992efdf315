"""Cross-tenant probes of the bookings models (collected by the tenancy tests)."""

PROBES = {
    "bookings.Invitee": (
        "no URL, form or API takes an invitee's id yet; the booking pages that do will "
        "replace this entry with a probe"
    ),
}
