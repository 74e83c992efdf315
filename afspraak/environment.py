"""Typed readers for settings that come from the environment.

Each reader fails fast with a message naming the variable, so a typo in a
deployment stops the process at start instead of running with a wrong value.
A secret may also be given as ``NAME_FILE``: the path of a file holding it.
An empty value counts as unset, as in a copied ``.env.example``.
"""

import os
import re
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_SYSLOG_URL = re.compile(r"syslog\+tls://(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(?P<port>\d+)")


def env_str(name: str, default: str = "") -> str:
    """Return the variable's value, or the default when it is unset."""
    return os.environ.get(name) or default


def env_bool(name: str, default: bool) -> bool:
    """Return the variable as a boolean (1/0, true/false, yes/no, on/off)."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), not {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    """Return the variable as an integer, at least ``minimum`` when given."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    """Return the variable as a comma-separated list with blanks removed."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_ports(name: str, default: list[int]) -> list[int]:
    """Return the variable as a comma-separated list of TCP ports (1..65535)."""
    ports = []
    for item in env_list(name, [str(port) for port in default]):
        if not item.isdigit() or not 0 < int(item) < 65536:
            raise ImproperlyConfigured(f"{name} must list ports between 1 and 65535, not {item!r}")
        ports.append(int(item))
    return ports


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    """Return the variable when it is one of ``choices``."""
    value = (os.environ.get(name) or default).strip().lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def env_secret(name: str, default: str = "") -> str:
    """Return a secret from ``NAME`` or from the file named by ``NAME_FILE``."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as error:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {file_name}: {error}") from None
    return os.environ.get(name) or default


@dataclass(frozen=True)
class LogSink:
    """Where a log stream goes: stderr, stdout, a file or a syslog receiver over TLS."""

    kind: str
    path: Path | None = None
    host: str = ""
    port: int = 0


def parse_log_sink(value: str, *, name: str) -> LogSink:
    """Parse a log sink, naming the variable ``name`` in the error when it is not one we know."""
    value = value.strip()
    if value in ("stderr", "stdout"):
        return LogSink(kind=value)
    if value.startswith("file:"):
        path = value.removeprefix("file:")
        if not path:
            raise ImproperlyConfigured(f"{name}: file: needs a path, as in file:/var/log/x.json")
        return LogSink(kind="file", path=Path(path))
    match = _SYSLOG_URL.fullmatch(value)
    if match:
        port = int(match["port"])
        if not 0 < port < 65536:
            raise ImproperlyConfigured(f"{name}: port {port} is not between 1 and 65535")
        return LogSink(kind="syslog+tls", host=match["host"].strip("[]"), port=port)
    raise ImproperlyConfigured(
        f"{name} must be stderr, stdout, file:PATH or syslog+tls://HOST:PORT, not {value!r}"
    )


def env_log_sink(name: str, default: str) -> str:
    """Return the variable when it names a log sink ``parse_log_sink`` accepts."""
    value = env_str(name, default).strip()
    parse_log_sink(value, name=name)
    return value


def unsafe_production_settings(
    *,
    db_engine: str,
    db_sslmode: str,
    site_url: str,
    allowed_hosts: list[str],
    trusts_forwarded_proto: bool,
    proxy_count: int,
) -> list[str]:
    """Return what production refuses in these settings, one message each (empty when none).

    ``check --deploy`` lets each of these through; in production each is a start-up error
    (``afspraak/settings.py``) and a ``security-audit`` failure (``afspraak.posture``).
    """
    problems = []
    if db_engine == "postgresql" and db_sslmode != "verify-full":
        problems.append(
            f"AFSPRAAK_DB_SSLMODE must be verify-full in production, not {db_sslmode!r}: "
            "anything less lets a machine in the path read or impersonate the database"
        )
    if not site_url.startswith("https://"):
        problems.append(
            f"AFSPRAAK_SITE_URL must be an https:// URL in production, not {site_url!r}: "
            "links in e-mails and the CSRF origin would be plain HTTP"
        )
    if any("*" in host for host in allowed_hosts):
        problems.append(
            "AFSPRAAK_ALLOWED_HOSTS must name the site's hosts in production, without '*': "
            "a wildcard accepts forged Host headers (poisoned links in password-reset mails)"
        )
    if trusts_forwarded_proto and proxy_count == 0:
        problems.append(
            "AFSPRAAK_TRUST_X_FORWARDED_PROTO=true needs AFSPRAAK_PROXY_COUNT of at least 1 in "
            "production: with no proxy in front any client can claim HTTPS with the header"
        )
    return problems
