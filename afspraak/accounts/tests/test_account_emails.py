"""Account e-mails (allauth's) have a text and an HTML part in the site's design, over SMTP."""

import re

import pytest
from allauth.account.adapter import get_adapter
from allauth.core import context as allauth_context
from django.test import RequestFactory
from django.urls import reverse

from afspraak.testing.factories import UserFactory

pytestmark = pytest.mark.django_db

NEWCOMER = "ada@example.test"
PASSWORD = "copper kites hum above frozen orchards"


def html_of(mail) -> str:
    part = mail.message.get_body(preferencelist=("html",))
    assert part is not None, "the message has no text/html part"
    return str(part.get_content())


def button_of(html: str, label: str) -> str:
    [url] = re.findall(rf'<a href="(https://[^"]+)"[^>]*>{re.escape(label)}</a>', html)
    return url.replace("&amp;", "&")


def assert_in_the_sites_frame(text: str, html: str, settings) -> None:
    for part in (text, html):
        assert "Hello from Afspraak!" in part
        assert "{{" not in part
        assert "{%" not in part
    assert text.splitlines()[0] == "Hello from Afspraak!"
    assert settings.SITE_URL in text
    assert "Sent by Afspraak." in html
    # Nothing loads when the mail is opened: no organization, so no logo.
    assert not re.search(r"<img|<link|url\(", html)


def test_sign_up_confirmation_has_an_escaped_html_part_with_the_texts_link(
    client, smtp_server, settings
):
    client.post(
        reverse("account_signup"),
        {
            "full_name": "Ada <b>Lovelace</b>",
            "email": NEWCOMER,
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )

    [mail] = smtp_server.to(NEWCOMER)
    text, html = mail.text(), html_of(mail)
    assert_in_the_sites_frame(text, html, settings)
    assert "in the name of Ada <b>Lovelace</b>." in text
    assert "in the name of Ada &lt;b&gt;Lovelace&lt;/b&gt;." in html
    assert "<b>" not in html
    link = button_of(html, "Confirm your e-mail address")
    assert "/accounts/confirm-email/" in link
    assert link in text
    title = mail.subject.removeprefix(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX)
    assert re.search(rf"<h1[^>]*>{re.escape(title)}</h1>", html)


def test_password_reset_mail_has_a_reset_button_to_the_texts_link(client, smtp_server, settings):
    user = UserFactory.create(full_name="Ada Lovelace")

    client.post(reverse("account_reset_password"), {"email": user.email})

    [mail] = smtp_server.to(user.email)
    text, html = mail.text(), html_of(mail)
    assert_in_the_sites_frame(text, html, settings)
    link = button_of(html, "Reset your password")
    assert "/accounts/password/reset/key/" in link
    assert link in text
    # The request's host (allauth's "current site") no longer names the sender.
    assert "testserver" not in text.splitlines()[0]
    assert "Thank you for using Afspraak." in text


@pytest.mark.parametrize(
    ("template", "sentence"),
    [
        ("account/email/password_changed", "Your password has been changed."),
        ("mfa/email/totp_activated", "Authenticator app activated."),
        ("mfa/email/recovery_codes_generated", "A new set of Two-Factor Authentication"),
    ],
)
def test_security_notices_have_a_matching_html_part_without_a_button(
    smtp_server, settings, template, sentence
):
    user = UserFactory.create(full_name="Ada Lovelace")
    request = RequestFactory().get("/", secure=True)
    with allauth_context.request_context(request):
        message = get_adapter().render_mail(
            template,
            user.email,
            {"user": user, "ip": "192.0.2.7", "user_agent": "Firefox <script>", "timestamp": "now"},
        )
        message.send()

    [mail] = smtp_server.to(user.email)
    text, html = mail.text(), html_of(mail)
    assert_in_the_sites_frame(text, html, settings)
    assert sentence in text
    assert sentence in html
    assert "Firefox <script>" in text
    assert "Firefox &lt;script&gt;" in html
    assert "<script" not in html
    # The footer's site address is a plain link; no button, as there is nothing to do.
    assert "display:inline-block" not in html
