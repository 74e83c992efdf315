"""Session lifetimes (absolute and idle, stricter for staff) and the sessions page."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from afspraak.accounts.middleware import SESSION_END_GRACE_SECONDS, set_session_end_date
from afspraak.accounts.sessions import session_token
from afspraak.accounts.tests.signin import submit_password, totp_code
from afspraak.audit.models import AuditEvent
from afspraak.testing.factories import StaffUserFactory, UserFactory

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 8, 0, 15, tzinfo=UTC)


def _signed_in(client):
    return client.get(reverse("home")).context["user"].is_authenticated


def _staff_with_totp():
    staff = StaffUserFactory.create()
    secret = generate_totp_secret()
    TOTP.activate(staff, secret)
    return staff, secret


def _expiries():
    return list(AuditEvent.objects.filter(action="accounts.session.expired"))


def _assert_ended_once(user, reason):
    [expired] = _expiries()
    assert (expired.outcome, expired.actor_id, expired.data) == (
        "success",
        user.pk,
        {"reason": reason},
    )
    assert not AuditEvent.objects.filter(action="accounts.logout").exists()


def test_user_idle_for_more_than_a_day_is_logged_out_on_the_next_request(client):
    user = UserFactory.create()
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(user)
        traveller.shift(timedelta(hours=23, minutes=59))
        assert _signed_in(client)

        traveller.shift(timedelta(hours=24, minutes=1))
        assert not _signed_in(client)
        assert not _signed_in(client)

    _assert_ended_once(user, "idle")


def test_user_active_all_along_is_logged_out_after_fourteen_days(client):
    user = UserFactory.create()
    absolute = timedelta(seconds=settings.SESSION_ABSOLUTE_SECONDS)
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(user)
        # Active every 23 hours, never idle for a day: only the absolute limit can end it.
        for _ in range(absolute // timedelta(hours=23)):
            traveller.shift(timedelta(hours=23))
            assert _signed_in(client)

        traveller.shift(START + absolute + timedelta(seconds=30) - timezone.now())
        assert not _signed_in(client)
        assert not _signed_in(client)

    _assert_ended_once(user, "absolute")


def test_staff_idle_for_more_than_thirty_minutes_is_logged_out(client):
    staff, _secret = _staff_with_totp()
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(staff)
        traveller.shift(timedelta(minutes=29))
        assert _signed_in(client)

        traveller.shift(timedelta(minutes=31))
        assert not _signed_in(client)

    _assert_ended_once(staff, "idle")


def test_staff_active_all_along_is_logged_out_after_twelve_hours(client):
    staff, _secret = _staff_with_totp()
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(staff)
        # Active every 29 minutes, never idle for half an hour.
        for _ in range(12 * 60 // 29):
            traveller.shift(timedelta(minutes=29))
            assert _signed_in(client)

        traveller.shift(START + timedelta(hours=12, seconds=30) - timezone.now())
        assert not _signed_in(client)

    _assert_ended_once(staff, "absolute")


def test_lifetimes_follow_the_settings(client, settings):
    settings.SESSION_IDLE_SECONDS = 3600
    user = UserFactory.create()
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(user)
        traveller.shift(timedelta(minutes=61))
        assert not _signed_in(client)

    _assert_ended_once(user, "idle")


def test_staff_session_cookie_does_not_outlive_twelve_hours(client):
    staff, secret = _staff_with_totp()
    with time_machine.travel(START, tick=False):
        submit_password(client, staff.email)
        response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
        assert response.status_code == 302

        cookie = response.cookies[settings.SESSION_COOKIE_NAME]
        limit = settings.STAFF_SESSION_ABSOLUTE_SECONDS + SESSION_END_GRACE_SECONDS
        assert 0 < int(cookie["max-age"]) <= limit
        assert client.session.get_expiry_date() <= START + timedelta(seconds=limit)


def test_user_session_cookie_does_not_outlive_fourteen_days(client):
    user = UserFactory.create()
    with time_machine.travel(START, tick=False):
        response = submit_password(client, user.email)

        cookie = response.cookies[settings.SESSION_COOKIE_NAME]
        limit = settings.SESSION_ABSOLUTE_SECONDS + SESSION_END_GRACE_SECONDS
        assert 0 < int(cookie["max-age"]) <= limit
        assert client.session.get_expiry_date() <= START + timedelta(seconds=limit)


@pytest.fixture
def second_browser(client):
    return type(client)()


def test_sessions_page_lists_the_users_sessions(client, second_browser):
    user = UserFactory.create()
    client.force_login(user)
    second_browser.force_login(user)
    second_browser.get(reverse("home"), HTTP_USER_AGENT="Second browser")

    response = client.get(reverse("usersessions_list"), HTTP_USER_AGENT="First browser")

    assert response.status_code == 200
    assert response.context["session_count"] == 2
    assert "Second browser" in response.content.decode()


def test_ending_other_sessions_logs_them_out_and_audits_each(client, second_browser):
    user = UserFactory.create()
    client.force_login(user)
    second_browser.force_login(user)
    assert _signed_in(second_browser)
    assert _signed_in(client)
    other = UserSession.objects.get(session_key=second_browser.session.session_key)

    response = client.post(reverse("usersessions_list"))

    assert response.status_code == 302
    assert not _signed_in(second_browser)
    assert _signed_in(client)
    [ended] = AuditEvent.objects.filter(action="accounts.session.ended")
    assert (ended.outcome, ended.actor_id, ended.target_id) == ("success", user.pk, user.public_id)
    assert ended.data == {"user_session_id": str(other.pk), "current": False}


def test_session_end_date_is_fixed_at_login_and_not_renewed_by_activity(client):
    user = UserFactory.create()
    limit = timedelta(seconds=settings.SESSION_ABSOLUTE_SECONDS + SESSION_END_GRACE_SECONDS)
    with time_machine.travel(START, tick=False) as traveller:
        client.force_login(user)
        assert client.session.get_expiry_date() == START + limit
        traveller.shift(timedelta(hours=5))
        assert _signed_in(client)
        assert client.session.get_expiry_date() == START + limit


def test_an_earlier_end_date_set_at_login_is_kept(client, rf):
    user = UserFactory.create()
    with time_machine.travel(START, tick=False):
        client.force_login(user)
        request = rf.get("/")
        request.session = client.session
        request.session.set_expiry(START + timedelta(hours=2))

        set_session_end_date(request, user)

        assert request.session.get_expiry_date() == START + timedelta(hours=2)


def test_one_other_session_can_be_ended_from_the_sessions_page(client, second_browser):
    user = UserFactory.create()
    client.force_login(user)
    second_browser.force_login(user)
    assert _signed_in(second_browser)
    other = UserSession.objects.get(session_key=second_browser.session.session_key)
    page = client.get(reverse("usersessions_list")).content.decode()
    token = session_token(other)
    assert token in page

    response = client.post(reverse("account_end_session"), {"session": token})

    assert response.status_code == 302
    assert not _signed_in(second_browser)
    assert _signed_in(client)
    [ended] = AuditEvent.objects.filter(action="accounts.session.ended")
    assert ended.data == {"user_session_id": str(other.pk), "current": False}


@pytest.mark.parametrize("token", ["", "not-a-token", "1"])
def test_ending_a_session_with_a_bad_token_changes_nothing(client, second_browser, token):
    user = UserFactory.create()
    client.force_login(user)
    second_browser.force_login(user)

    response = client.post(reverse("account_end_session"), {"session": token}, follow=True)

    assert response.status_code == 200
    assert "does not exist or has already ended" in response.content.decode()
    assert _signed_in(second_browser)
    assert not AuditEvent.objects.filter(action="accounts.session.ended").exists()


def test_another_users_session_cannot_be_ended(client, second_browser):
    victim = UserFactory.create()
    second_browser.force_login(victim)
    assert _signed_in(second_browser)
    victims_session = UserSession.objects.get(session_key=second_browser.session.session_key)
    client.force_login(UserFactory.create())

    client.post(reverse("account_end_session"), {"session": session_token(victims_session)})

    assert _signed_in(second_browser)
