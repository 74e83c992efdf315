"""Subprocessors (V1): a public register; subscribed owners are e-mailed of a new one at
least 30 days before it takes effect."""

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from afspraak.audit.context import AuditContext
from afspraak.audit.outbox import deliver_due
from afspraak.compliance.models import Subprocessor
from afspraak.compliance.subprocessors import (
    add_subprocessor,
    is_subscribed,
    subscribe_to_subprocessors,
    unsubscribe_from_subprocessors,
)
from afspraak.errors import ConflictError, DomainError
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.models import Membership
from afspraak.testing.access import member_access
from afspraak.testing.audit import assert_audited

DIGEST = "cd" * 32


def _add(days_ahead: int = 30, **fields):
    today = timezone.now().date()
    values = {
        "name": "Mailgun Technologies",
        "purpose": "Sending booking e-mails",
        "data_categories": "Invitees' names and e-mail addresses",
        "location": "Germany (EU)",
        "agreement_signed_on": today - timedelta(days=3),
        "document_sha256": DIGEST,
        "effective_on": today + timedelta(days=days_ahead),
        **fields,
    }
    return add_subprocessor(AuditContext.system(), **values)


def test_an_effective_date_sooner_than_30_days_is_refused(db):
    with pytest.raises(DomainError, match="30 days ahead"):
        _add(days_ahead=29)
    assert not Subprocessor.objects.exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"document_sha256": "nope"}, "SHA-256"),
        ({"location": " "}, "location"),
        ({"agreement_signed_on": date(2999, 1, 1)}, "future"),
    ],
)
def test_bad_entries_are_refused_with_a_reason(db, fields, message):
    with pytest.raises(DomainError, match=message):
        _add(**fields)


def test_subscribed_owners_are_emailed_through_the_outbox(
    tenants, django_capture_on_commit_callbacks
):
    subscribe_to_subprocessors(member_access(tenants.owner))
    subscribe_to_subprocessors(member_access(tenants.outsider))
    assert_audited("compliance.subprocessor.subscribed", organization=tenants.a)

    with django_capture_on_commit_callbacks(execute=True):
        subprocessor = _add(days_ahead=45)

    assert sorted(m.to[0] for m in mail.outbox) == ["owner@a.test", "owner@b.test"]
    assert "Mailgun Technologies" in mail.outbox[0].subject
    assert subprocessor.effective_on.strftime("%-d %B %Y") in mail.outbox[0].body
    notice = mail.outbox[0]
    assert isinstance(notice, mail.EmailMultiAlternatives)
    html, kind = notice.alternatives[0]
    assert kind == "text/html"
    assert isinstance(html, str)
    assert "Mailgun Technologies" in html
    assert "/subprocessors/" in html  # the button to the register
    assert_audited("compliance.subprocessor.added", data={"notices": 2})


def test_an_unsubscribed_or_demoted_owner_hears_nothing(tenants):
    subscribe_to_subprocessors(member_access(tenants.owner))
    subscribe_to_subprocessors(member_access(tenants.outsider))
    unsubscribe_from_subprocessors(member_access(tenants.outsider))
    assert_audited("compliance.subprocessor.unsubscribed", organization=tenants.b)
    with organization_context(tenants.a):
        Membership.objects.filter(pk=tenants.owner.pk).update(role="member")

    _add()
    deliver_due()

    assert mail.outbox == []


def test_only_owners_subscribe_and_once(tenants):
    from afspraak.tenancy.access import AccessDeniedError

    with pytest.raises(AccessDeniedError):
        subscribe_to_subprocessors(member_access(tenants.admin))
    subscribe_to_subprocessors(member_access(tenants.owner))
    assert is_subscribed(member_access(tenants.owner))
    with pytest.raises(ConflictError):
        subscribe_to_subprocessors(member_access(tenants.owner))


def test_public_register_lists_every_subprocessor(client, db):
    _add(name="Hetzner Online", location="Falkenstein, Germany")
    page = client.get(reverse("compliance:subprocessors"))
    assert page.status_code == 200
    assert "Hetzner Online" in page.content.decode()
    assert "Falkenstein, Germany" in page.content.decode()
    assert "announced" in page.content.decode()


def test_owner_page_subscribes_and_unsubscribes(client, tenants):
    client.force_login(tenants.owner.user)
    url = reverse("compliance:subprocessor_subscription", args=[tenants.a.slug])
    assert client.post(url, {"subscribe": "yes"}).status_code == 302
    assert is_subscribed(member_access(tenants.owner))
    client.post(url, {"subscribe": "no"})
    assert not is_subscribed(member_access(tenants.owner))


def test_command_adds_and_lists(db):
    effective = (timezone.now().date() + timedelta(days=31)).isoformat()
    out = StringIO()
    arguments = ["--purpose", "Hosting", "--data", "All", "--location", "EU"]
    arguments += ["--agreement-signed-on", "2026-01-05", "--sha256", DIGEST]
    call_command(
        "subprocessors", "add", "Hetzner", *arguments, "--effective-on", effective, stdout=out
    )
    call_command("subprocessors", "list", stdout=out)
    assert "Hetzner" in out.getvalue()
    with pytest.raises(CommandError, match="30 days ahead"):
        call_command("subprocessors", "add", "Late", *arguments, "--effective-on", "2026-01-01")
