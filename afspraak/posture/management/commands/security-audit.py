# ruff: noqa: N999  (Django names a command after its module: this one must be "security-audit")
"""``afspraak security-audit``: check the installation's security configuration (control N1)."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from afspraak.posture.registry import run_audit, target_from_settings
from afspraak.posture.results import Status

LABELS = {Status.PASS: "PASS", Status.FAIL: "FAIL", Status.NOT_APPLICABLE: "N/A "}


class Command(BaseCommand):
    help = (
        "Check listening ports, TLS, security headers, settings, keys, the database, backups, "
        "staff MFA and the firewall; exit 1 when any check fails."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print JSON for machines")
        parser.add_argument(
            "--endpoint",
            default="",
            metavar="HOST:PORT",
            help="the TLS endpoint (default: AFSPRAAK_AUDIT_ENDPOINT, else the site URL's)",
        )
        parser.add_argument(
            "--process",
            action="append",
            type=int,
            default=[],
            metavar="PID",
            help="audit the listening sockets of this process and its descendants only "
            "(repeatable; default: every socket of the host)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            target = target_from_settings(options["endpoint"], tuple(options["process"]))
        except ValueError as error:
            raise CommandError(str(error)) from None
        results = run_audit(target)
        failures = [check.name for check, result in results if result.failed]
        if options["json"]:
            report = {
                "endpoint": f"{target.host}:{target.port}",
                "production": target.production,
                "processes": list(target.processes),
                "passed": not failures,
                "checks": [
                    {
                        "name": check.name,
                        "title": check.title,
                        "status": str(result.status),
                        "detail": result.detail,
                    }
                    for check, result in results
                ],
            }
            self.stdout.write(json.dumps(report, indent=2))
        else:
            for check, result in results:
                style = self.style.ERROR if result.failed else self.style.SUCCESS
                label = LABELS[result.status]
                self.stdout.write(f"{style(label)}  {check.title}: {result.detail}")
            summary = f"{len(results) - len(failures)} of {len(results)} checks passed"
            self.stdout.write(
                summary if not failures else f"{summary}; failed: {', '.join(failures)}"
            )
        if failures:
            raise SystemExit(1)
