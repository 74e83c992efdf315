"""The meeting-type form in Chromium at 1280 px and on a 390 px phone: grouped fields,
lengths in hours and minutes, the web address following the name, and the question
builder's buttons; the page is sound (no horizontal scroll, CSP or console error, axe)."""

import pytest
from playwright.sync_api import expect

from afspraak.scheduling.models import MeetingType
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.roles import Role
from afspraak.testing.browser import DESKTOP, PHONE, assert_page_is_sound, watch_console
from afspraak.testing.factories import (
    DEFAULT_PASSWORD,
    MembershipFactory,
    OrganizationFactory,
    ScheduleFactory,
    UserFactory,
)

pytestmark = pytest.mark.browser

HOST = "hanna.host@example.test"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_host_builds_a_meeting_type_with_questions(
    browser_page, browser_console, https_live_server, viewport
):
    studio = OrganizationFactory.create(name="Hanna's Studio", slug="studio")
    host = UserFactory.create(email=HOST, full_name="Hanna de Vries")
    MembershipFactory.create(organization=studio, role=Role.MEMBER, user=host)
    ScheduleFactory.create(organization=studio, host=host)
    device = "phone" if viewport == PHONE else "desktop"
    context = browser_page.context.browser.new_context(
        base_url=https_live_server.url, viewport=viewport, is_mobile=viewport == PHONE
    )
    try:
        page = context.new_page()
        watch_console(page, browser_console)
        page.goto("/accounts/login/")
        page.get_by_label("Email").fill(HOST)
        page.get_by_label("Password").fill(DEFAULT_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto("/o/studio/meeting-types/new/")
        page.get_by_label("Name").fill("Première consultation")
        expect(page.get_by_label("Web address")).to_have_value("premiere-consultation")
        duration = page.get_by_role("group", name="Duration")
        duration.get_by_label("hours").fill("1")
        duration.get_by_label("minutes").fill("30")
        assert_page_is_sound(page, f"meeting-type-form-{device}")

        page.get_by_role("button", name="Add a question").click()
        first = page.locator("#question-0")
        first.get_by_label("Question:").fill("Which room?")
        first.get_by_label("Answer:").select_option("single_choice")
        expect(first.get_by_label("Options:")).to_be_visible()
        first.get_by_label("Options:").fill("Blue room\nGreen room")
        page.get_by_role("button", name="Add a question").click()
        second = page.locator("#question-1")
        second.get_by_label("Question:").fill("Anything else?")
        expect(second.get_by_label("Options:")).to_be_hidden()
        second.get_by_role("button", name="Move up").click()
        expect(page.locator("#question-0").get_by_label("Question:")).to_have_value(
            "Anything else?"
        )
        # What was typed before the round trips is still there.
        expect(page.get_by_label("Web address")).to_have_value("premiere-consultation")
        assert_page_is_sound(page, f"meeting-type-questions-{device}")
        page.get_by_role("button", name="Save meeting type", exact=True).last.click()
        expect(page.get_by_text("Meeting type created.")).to_be_visible()
    finally:
        context.close()
    assert not browser_console, browser_console
    with organization_context(studio):
        meeting_type = MeetingType.objects.get()
    assert (meeting_type.slug, meeting_type.duration_minutes) == ("premiere-consultation", 90)
    assert [q["label"] for q in meeting_type.questions] == ["Anything else?", "Which room?"]
    assert meeting_type.questions[1]["choices"] == ["Blue room", "Green room"]
