"""``afspraak security-audit``: one line per check, a summary, exit 1 on any failure."""

import io
import json

import pytest
from django.core.management import call_command

from afspraak.posture.results import Check, Result, Status, Target

COMMAND = "afspraak.posture.management.commands.security-audit"


def not_run(target: Target) -> Result:
    raise AssertionError("the command prints run_audit's results; it runs no check itself")


def fake_audit(*verdicts: tuple[str, Status, str]):
    def run_audit(target: Target) -> list[tuple[Check, Result]]:
        return [
            (Check(name, name.title(), not_run), Result(status, detail))
            for name, status, detail in verdicts
        ]

    return run_audit


def test_every_check_is_printed_with_its_verdict_and_a_failure_exits_1(monkeypatch):
    monkeypatch.setattr(
        f"{COMMAND}.run_audit",
        fake_audit(
            ("tls", Status.PASS, "TLSv1.3"),
            ("nftables", Status.FAIL, "differs"),
            ("database-role", Status.NOT_APPLICABLE, "SQLite"),
        ),
    )
    out = io.StringIO()

    with pytest.raises(SystemExit) as exit_status:
        call_command("security-audit", stdout=out, no_color=True)

    assert exit_status.value.code == 1
    assert out.getvalue().splitlines() == [
        "PASS  Tls: TLSv1.3",
        "FAIL  Nftables: differs",
        "N/A   Database-Role: SQLite",
        "2 of 3 checks passed; failed: nftables",
    ]


def test_all_passing_exits_0_and_the_json_says_so(monkeypatch):
    monkeypatch.setattr(f"{COMMAND}.run_audit", fake_audit(("tls", Status.PASS, "TLSv1.3")))
    out = io.StringIO()

    call_command("security-audit", "--json", "--endpoint", "127.0.0.1:8443", stdout=out)

    report = json.loads(out.getvalue())
    assert report["passed"] is True
    assert report["endpoint"] == "127.0.0.1:8443"
    assert report["checks"] == [
        {"name": "tls", "title": "Tls", "status": "pass", "detail": "TLSv1.3"}
    ]


def test_the_processes_given_reach_the_audit_and_its_json(monkeypatch):
    seen: list[Target] = []

    def run_audit(target: Target) -> list[tuple[Check, Result]]:
        seen.append(target)
        return [(Check("tls", "Tls", not_run), Result(Status.PASS, "TLSv1.3"))]

    monkeypatch.setattr(f"{COMMAND}.run_audit", run_audit)
    out = io.StringIO()

    call_command("security-audit", "--json", "--process", "41", "--process", "42", stdout=out)

    assert seen[0].processes == (41, 42)
    assert json.loads(out.getvalue())["processes"] == [41, 42]
