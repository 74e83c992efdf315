"""The child processes of ``afspraak serve``: the HTTPS web server and the job consumer.

gunicorn runs as a child process with its own command line rather than in-process
through ``gunicorn.app.base.BaseApplication``, for two reasons. OpenSSL reads
``OPENSSL_CONF`` (which limits the key-exchange groups, see
``deploy/openssl-afspraak.cnf``) once, when it initialises, and by the time a
management command runs, Django and its libraries have long initialised OpenSSL in
this process; a fresh process started with that variable in its environment is the
only clean way to have it read. And gunicorn's master then keeps its own signal
handling and worker management untouched, with a command line visible in ``ps``.
"""

import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path

from afspraak.server.supervisor import ChildSpec

GUNICORN_CONFIG = "python:afspraak.server.gunicorn_config"
WSGI_APPLICATION = "afspraak.wsgi:application"

# Environment variables through which gunicorn would take settings from outside the
# command line, overriding the hardened configuration.
_GUNICORN_OVERRIDES = ("GUNICORN_CMD_ARGS", "FORWARDED_ALLOW_IPS")


def child_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return this process's environment for a child, with the settings module named."""
    env = {name: value for name, value in os.environ.items() if name not in _GUNICORN_OVERRIDES}
    env.setdefault("DJANGO_SETTINGS_MODULE", "afspraak.settings")
    env.update(extra or {})
    return env


def bind_address(host: str, port: int) -> str:
    """Return gunicorn's ``--bind`` value for a host and port (IPv6 in brackets)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def web_server(
    *,
    host: str,
    port: int,
    cert: Path,
    key: Path,
    workers: int,
    threads: int,
    openssl_conf: Path,
) -> ChildSpec:
    """Describe gunicorn serving the application over HTTPS on ``host:port``."""
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        GUNICORN_CONFIG,
        "--bind",
        bind_address(host, port),
        "--certfile",
        str(cert),
        "--keyfile",
        str(key),
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        WSGI_APPLICATION,
    ]
    return ChildSpec(
        name="web server (gunicorn)",
        argv=argv,
        env=child_environment({"OPENSSL_CONF": str(openssl_conf)}),
        # gunicorn's graceful stop: finish the requests in flight, then exit.
        stop_signal=signal.SIGTERM,
    )


def job_consumer() -> ChildSpec:
    """Describe the Huey consumer that runs background and periodic jobs."""
    return ChildSpec(
        name="job consumer (huey)",
        argv=[sys.executable, "-m", "afspraak.cli", "run_huey"],
        env=child_environment(),
        # Huey's graceful stop is SIGINT (SIGTERM would interrupt running jobs).
        stop_signal=signal.SIGINT,
    )
