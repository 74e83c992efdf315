"""The invitation e-mail: a text and a branded, escaped HTML part, through a real SMTP server."""

import re

import pytest
from django.urls import reverse

from afspraak.tenancy.invitations import invite_member
from afspraak.testing.access import member_access

pytestmark = pytest.mark.django_db

INVITEE = "new.person@example.test"


def html_of(mail) -> str:
    part = mail.message.get_body(preferencelist=("html",))
    assert part is not None, "the message has no text/html part"
    return str(part.get_content())


def invite(tenants, django_capture_on_commit_callbacks) -> str:
    with django_capture_on_commit_callbacks(execute=True):
        _, token = invite_member(
            member_access(tenants.admin, reauthenticated=True), email=INVITEE, role="member"
        )
    return token


def test_the_invitation_has_a_text_and_a_branded_escaped_html_part(
    tenants, smtp_server, django_capture_on_commit_callbacks
):
    tenants.a.name = "Alpha & <Sons>"
    tenants.a.accent_colour = "#7a2e8a"
    tenants.a.save(update_fields=["name", "accent_colour"])
    tenants.admin.user.full_name = "Ada <i>Admin</i>"
    tenants.admin.user.save(update_fields=["full_name"])

    token = invite(tenants, django_capture_on_commit_callbacks)

    [mail] = smtp_server.to(INVITEE)
    text, html = mail.text(), html_of(mail)
    assert mail.subject == "[Afspraak] You are invited to join Alpha & <Sons>"
    assert text.startswith("Hello from Afspraak!")
    assert "Ada <i>Admin</i> invited you to join Alpha & <Sons> on Afspraak as member." in text
    assert "Ada &lt;i&gt;Admin&lt;/i&gt; invited you to join Alpha &amp; &lt;Sons&gt;" in html
    assert "<i>" not in html
    assert "<Sons>" not in html
    for part in (text, html):
        assert "{{" not in part
        assert "{%" not in part
        assert "Hello from Afspraak!" in part
        assert "The link works once and expires on" in part
    # The organization's accent colour frames the mail and fills the button to the link.
    assert "border-bottom:3px solid #7a2e8a" in html
    [button] = re.findall(
        r'<a href="([^"]+)"[^>]*background:#7a2e8a[^>]*>Accept the invitation</a>', html
    )
    assert button.endswith(reverse("tenancy:invitation_accept", args=[token]))
    assert button in text
    assert "Sent by Afspraak for Alpha &amp; &lt;Sons&gt;." in html
    # No logo uploaded: nothing loads when the mail is opened.
    assert not re.search(r"<img|<link|url\(", html)


def test_an_invitation_from_an_organization_with_a_logo_shows_it(
    tenants, smtp_server, django_capture_on_commit_callbacks, settings
):
    tenants.a.logo_hash = "a" * 64
    tenants.a.save(update_fields=["logo_hash"])

    invite(tenants, django_capture_on_commit_callbacks)

    [mail] = smtp_server.to(INVITEE)
    html = html_of(mail)
    [logo] = re.findall(r'<img src="([^"]+)"', html)
    assert logo.startswith(f"{settings.SITE_URL}/o-brand/{tenants.a.slug}/")
    assert f'alt="{tenants.a.name}"' in html


def test_an_inviter_without_a_name_is_not_named(
    tenants, smtp_server, django_capture_on_commit_callbacks
):
    tenants.admin.user.full_name = ""
    tenants.admin.user.save(update_fields=["full_name"])

    invite(tenants, django_capture_on_commit_callbacks)

    [mail] = smtp_server.to(INVITEE)
    assert f"You are invited to join {tenants.a.name} on Afspraak as member." in mail.text()
