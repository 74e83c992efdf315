"""An invitee's name may not carry text-direction controls, but may carry joiners."""

import pytest

from afspraak.bookings.tests.test_booking_form import (
    book_url,
    bookings_of,
    form_data,
    meeting_type,  # noqa: F401 (a fixture)
)
from afspraak.inputs.names import NAME_HAS_BIDI_CONTROLS
from afspraak.tenancy.context import organization_context

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

PERSIAN = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"


@pytest.mark.parametrize("control", ["\u202e", "\u202a", "\u2066", "\u2069"])
def test_a_name_with_a_direction_control_is_a_form_error(client, meeting_type, control):  # noqa: F811
    response = client.post(book_url(meeting_type), form_data(name=f"Ada{control}gnp.exe"))
    assert response.status_code == 400
    assert NAME_HAS_BIDI_CONTROLS in response.content.decode()
    assert bookings_of(meeting_type) == []


# Persian "I want" (a non-joiner inside), Devanagari with a joiner, an emoji sequence.
@pytest.mark.parametrize("name", [PERSIAN, "क्\u200dषमा", "Ada \U0001f469\u200d\U0001f4bb"])
def test_a_name_with_joiners_books(client, meeting_type, name):  # noqa: F811
    response = client.post(book_url(meeting_type), form_data(name=name))
    assert response.status_code == 302
    (booking,) = bookings_of(meeting_type)
    with organization_context(booking.organization):
        assert booking.invitee_name == name
