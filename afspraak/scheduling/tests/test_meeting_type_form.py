"""The meeting-type form: lengths in their units, the slug made from the name, and the
question builder (add, move, remove without JavaScript; stored questions keep their keys)."""

import html
import re
from typing import Any

import pytest

from afspraak.scheduling.durations import format_minutes, parse_length
from afspraak.scheduling.models import MeetingType
from afspraak.scheduling.tests.test_views import QUESTIONS, _meeting_type_form
from afspraak.tenancy.context import organization_context
from afspraak.testing.audit import events
from afspraak.testing.factories import MeetingTypeFactory, ScheduleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def schedule(tenants, client):
    client.force_login(tenants.member.user)
    return ScheduleFactory.create(organization=tenants.a, host=tenants.member.user)


def _labels(page):
    return re.findall(r'name="question-\d+-label"[^>]*value="([^"]*)"', page)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("1 h 30 min", 90), ("2 d", 2880), ("90", 90), ("1h30", 90), ("1 day 2 hours", 1560)],
)
def test_lengths_are_read_in_their_units(text, minutes):
    assert parse_length(text) == minutes


def test_lengths_are_written_in_the_largest_units():
    assert [format_minutes(m) for m in (0, 45, 90, 1440, 1530)] == [
        "0 min",
        "45 min",
        "1 h 30 min",
        "1 d",
        "1 d 1 h 30 min",
    ]


def test_an_empty_web_address_is_made_from_the_name(client, tenants, schedule):
    form = _meeting_type_form(schedule, name="Première consultation: 1 uur", slug="")
    assert client.post("/o/alpha/meeting-types/new/", form).status_code == 302
    with organization_context(tenants.a):
        assert MeetingType.objects.get().slug == "premiere-consultation-1-uur"


def test_a_new_meeting_types_web_address_follows_its_name_in_the_browser(client, schedule):
    page = client.get("/o/alpha/meeting-types/new/").content.decode()
    assert re.search(r'name="slug"[^>]*data-slug-from="name"', page)
    assert "js/slug-from-name." in page


def test_the_schedule_list_names_each_schedule_and_its_host_not_their_address(
    client, tenants, schedule
):
    host = tenants.member.user
    assert host.full_name
    page = html.unescape(client.get("/o/alpha/meeting-types/new/").content.decode())
    assert f"{schedule.name} ({schedule.time_zone}) · {host.full_name}</option>" in page
    assert host.email not in page


def test_questions_are_added_moved_and_removed_without_saving(client, tenants, schedule):
    questions = [
        {"label": "First", "kind": "short_text"},
        {"label": "Second", "kind": "long_text"},
        {"label": "Third", "kind": "checkbox"},
    ]
    form = _meeting_type_form(schedule, questions=questions)
    url = "/o/alpha/meeting-types/new/"
    moved = client.post(url, form | {"question_action": "down-0"})
    assert moved.status_code == 200
    assert _labels(moved.content.decode()) == ["Second", "First", "Third"]
    assert _labels(client.post(url, form | {"question_action": "up-2"}).content.decode()) == [
        "First",
        "Third",
        "Second",
    ]
    removed = client.post(url, form | {"question_action": "remove-1"}).content.decode()
    assert _labels(removed) == ["First", "Third"]
    added = client.post(url, form | {"question_action": "add"}).content.decode()
    assert _labels(added) == ["First", "Second", "Third"]
    assert 'name="question-3-label"' in added
    assert "errorlist" not in added
    with organization_context(tenants.a):
        assert not MeetingType.objects.exists()


@pytest.mark.parametrize("action", ["remove-9", "sideways-0", "up-"])
def test_an_unknown_question_action_is_a_clear_error(client, schedule, action):
    form = _meeting_type_form(schedule) | {"question_action": action}
    response = client.post("/o/alpha/meeting-types/new/", form)
    assert response.status_code == 400
    assert "That question action is unknown" in response.content.decode()


def test_a_blank_added_question_is_left_out_and_new_ones_get_keys(client, tenants, schedule):
    questions = [
        *QUESTIONS,
        {"label": "What is your goal?", "kind": "multiple_choice", "choices": ["a", "b"]},
        {"label": "What is your goal?", "kind": "short_text"},
        {"label": "", "kind": "short_text"},
    ]
    response = client.post(
        "/o/alpha/meeting-types/new/", _meeting_type_form(schedule, questions=questions)
    )
    assert response.status_code == 302
    with organization_context(tenants.a):
        stored = MeetingType.objects.get().questions
    assert [q["key"] for q in stored] == [
        "topic",
        "level",
        "what_is_your_goal",
        "what_is_your_goal_2",
    ]
    assert stored[2]["choices"] == ["a", "b"]
    assert "choices" not in stored[3]


def test_stored_questions_keep_their_keys_when_edited(client, tenants, schedule):
    stored: list[dict[str, Any]] = [
        {"key": "intake_notes", "label": "Notes", "kind": "long_text"},
        {"key": "colour", "label": "Colour", "kind": "single_choice", "choices": ["red", "blue"]},
    ]
    meeting_type = MeetingTypeFactory.create(
        organization=tenants.a, host=tenants.member.user, schedule=schedule, questions=stored
    )
    url = f"/o/alpha/meeting-types/{meeting_type.public_id}/"
    page = client.get(url).content.decode()
    assert _labels(page) == ["Notes", "Colour"]
    assert 'name="question-0-key" value="intake_notes"' in page
    assert "red\nblue</textarea>" in page
    edited = [{**stored[1], "label": "Favourite colour"}, stored[0]]
    form = _meeting_type_form(schedule, questions=edited, slug=meeting_type.slug)
    assert client.post(url, form).status_code == 302
    with organization_context(tenants.a):
        meeting_type.refresh_from_db()
    assert meeting_type.questions == [
        {
            "key": "colour",
            "label": "Favourite colour",
            "kind": "single_choice",
            "required": False,
            "choices": ["red", "blue"],
        },
        {"key": "intake_notes", "label": "Notes", "kind": "long_text", "required": False},
    ]
    assert len(events("scheduling.meeting_type.updated", organization=tenants.a)) == 1
