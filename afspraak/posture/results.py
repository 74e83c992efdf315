"""What a posture check returns, and what it is given: the outcome and the target."""

import enum
from collections.abc import Callable
from dataclasses import dataclass


class Status(enum.StrEnum):
    PASS = "pass"  # noqa: S105 (a verdict, not a password)
    FAIL = "fail"
    # The check's subject is absent here (no PostgreSQL, no nft) and that is allowed.
    NOT_APPLICABLE = "not applicable"


@dataclass(frozen=True)
class Result:
    """A check's verdict and why, in one or a few sentences an operator can act on."""

    status: Status
    detail: str

    @property
    def failed(self) -> bool:
        return self.status is Status.FAIL


def passed(detail: str) -> Result:
    return Result(Status.PASS, detail)


def failed(detail: str) -> Result:
    return Result(Status.FAIL, detail)


def not_applicable(detail: str) -> Result:
    return Result(Status.NOT_APPLICABLE, detail)


@dataclass(frozen=True)
class Target:
    """What the audit looks at: the TLS endpoint, who signs its certificate, the mode.

    ``production`` makes "not configured" a failure (a development machine may lack
    backups, nft or a firewall table; a production one may not).
    """

    host: str
    port: int
    server_name: str
    ca_file: str
    production: bool
    # When given, the listening-sockets check audits only these processes' sockets (and
    # their descendants'): the installation on a host it shares with other services.
    processes: tuple[int, ...] = ()

    def missing(self, detail: str) -> Result:
        """Fail in production, else pass with a note: something that is not configured."""
        if self.production:
            return failed(f"not configured: {detail}")
        return passed(f"not configured (development): {detail}")


@dataclass(frozen=True)
class Check:
    """One posture check: a stable name (used in JSON and audit data), a title, a function."""

    name: str
    title: str
    run: Callable[[Target], Result]
