"""The daily audit job: each run audited; a check that stops passing raises an alert."""

from collections.abc import Callable

import pytest
from django.core import mail

from afspraak.audit.models import Alert, Outcome
from afspraak.audit.outbox import deliver_due
from afspraak.posture import job
from afspraak.posture.results import Check, Result, Status, Target, failed, passed
from afspraak.testing.audit import assert_audited, events

pytestmark = pytest.mark.django_db


def deliver_all() -> None:
    while deliver_due():
        pass


def always(verdict: Result) -> Callable[[Target], Result]:
    return lambda _target: verdict


def results(**verdicts: Result) -> list[tuple[Check, Result]]:
    return [(Check(name, name, always(verdict)), verdict) for name, verdict in verdicts.items()]


def test_a_run_is_audited_with_the_checks_that_passed_and_failed():
    regressed = job.record_audit(results(tls=passed("ok"), nftables=failed("differs")))

    assert regressed == []
    event = assert_audited(job.COMPLETED, outcome=Outcome.FAILURE)
    assert event.data == {"passed": ["tls"], "failed": ["nftables"]}
    assert events(job.REGRESSED) == []


def test_a_check_that_passed_last_run_and_fails_now_raises_one_alert(settings):
    settings.AFSPRAAK_SECURITY_CONTACTS = ["security@example.test"]
    job.record_audit(results(tls=passed("ok"), nftables=failed("differs")))

    regressed = job.record_audit(results(tls=failed("expires in 3 days"), nftables=failed("x")))
    deliver_all()

    # nftables failed both times: still failing, not a regression.
    assert regressed == ["tls"]
    assert assert_audited(job.REGRESSED).data == {"checks": ["tls"]}
    (alert,) = Alert.objects.filter(rule_id="afspraak-posture-regression")
    assert alert.severity == "high"
    assert [message.to for message in mail.outbox] == [["security@example.test"]]


def test_a_failure_that_persists_raises_no_new_alert():
    job.record_audit(results(tls=passed("ok")))
    job.record_audit(results(tls=failed("expired")))
    job.record_audit(results(tls=failed("expired")))
    deliver_all()

    assert len(events(job.REGRESSED)) == 1
    assert Alert.objects.filter(rule_id="afspraak-posture-regression").count() == 1


def test_the_job_runs_every_check_against_the_configured_endpoint(monkeypatch):
    seen: list[Target] = []

    def run_audit(target: Target) -> list[tuple[Check, Result]]:
        seen.append(target)
        return results(tls=Result(Status.NOT_APPLICABLE, "nothing to see"))

    monkeypatch.setattr(job, "run_audit", run_audit)

    assert job.daily_security_audit.call_local() == []
    assert (seen[0].server_name, seen[0].port) == ("localhost", 8443)
    assert assert_audited(job.COMPLETED).data == {"passed": ["tls"], "failed": []}
