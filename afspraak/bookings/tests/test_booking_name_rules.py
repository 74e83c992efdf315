"""``book_meeting`` itself refuses names that would spoof their display, whoever calls it."""

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from afspraak.inputs.names import NAME_HAS_BIDI_CONTROLS
from afspraak.testing.factories import MeetingTypeFactory, book

pytestmark = pytest.mark.django_db

MONDAY_0900_AMSTERDAM = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("name", ["Ada\u202egnp.exe", "Ada\u2067Lovelace", "Ada\nLovelace"])
def test_a_name_with_controls_is_refused_without_a_form(clock, name):
    meeting_type = MeetingTypeFactory.create()

    with pytest.raises(ValidationError) as refused:
        book(meeting_type, MONDAY_0900_AMSTERDAM, name=name)

    assert "name" in refused.value.message_dict
    if "\n" not in name:
        assert refused.value.message_dict["name"] == [NAME_HAS_BIDI_CONTROLS]
