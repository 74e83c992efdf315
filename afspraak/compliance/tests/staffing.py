"""Staff members of the compliance tests: in good standing, or missing one thing; and a
browser session for them that used its second factor."""

from datetime import date, timedelta
from typing import Any

from allauth.mfa.models import Authenticator
from django.utils import timezone

from afspraak.accounts.models import User
from afspraak.compliance.models import (
    ConfidentialityAgreement,
    PolicyAcknowledgement,
    PolicyVersion,
    TrainingCompletion,
    TrainingKind,
)
from afspraak.testing.browser import (
    PHONE,
    assert_page_is_sound,
    second_factor_session_cookie,
    watch_console,
)
from afspraak.testing.factories import StaffUserFactory

DOCUMENT = "ab" * 32


def give_mfa(user: User) -> None:
    """Give ``user`` a second factor (the standing checks that one exists)."""
    Authenticator.objects.create(user=user, type=Authenticator.Type.TOTP, data={})


def current_policy() -> PolicyVersion:
    """Return the current policy, publishing version 1 when there is none."""
    return PolicyVersion.current() or PolicyVersion.objects.create(
        version="1", document_sha256=DOCUMENT
    )


def staff_member(*, missing: str = "", trained_on: date | None = None, **fields: Any) -> User:
    """Create a staff member in good standing, except for ``missing`` (one element)."""
    user = StaffUserFactory.create(**fields)
    today = timezone.now().date()
    if missing != "agreement":
        ConfidentialityAgreement.objects.create(
            user=user, version="2026-1", signed_on=today, document_sha256=DOCUMENT
        )
    if missing != "policy":
        PolicyAcknowledgement.objects.create(user=user, policy=current_policy())
    else:
        current_policy()
    if missing != "training":
        TrainingCompletion.objects.create(
            user=user,
            kind=TrainingKind.AT_HIRE,
            completed_on=trained_on or today - timedelta(days=30),
        )
    if missing != "mfa":
        give_mfa(user)
    return user


def visit_pages(browser_page, server_url, viewport, browser_console, user, pages) -> None:
    """Open each of ``pages`` (name → path) as ``user`` (None: nobody), checking each is sound."""
    context = browser_page.context.browser.new_context(
        base_url=server_url,
        viewport=viewport,
        is_mobile=viewport == PHONE,
        has_touch=viewport == PHONE,
    )
    try:
        if user is not None:
            context.add_cookies([second_factor_session_cookie(user, server_url)])
        page = context.new_page()
        watch_console(page, browser_console)
        for name, path in pages.items():
            response = page.goto(path)
            assert response is not None
            assert response.status == 200, (name, response.status)
            assert_page_is_sound(page, name)
    finally:
        context.close()
