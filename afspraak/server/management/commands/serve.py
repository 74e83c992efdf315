"""``afspraak serve``: HTTPS (TLS 1.2+), the HTTP-to-HTTPS redirect and the job consumer, as one."""

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from afspraak.server import processes, startup
from afspraak.server.redirect import RedirectServer, https_base_url
from afspraak.server.supervisor import Supervisor

# Longer than gunicorn's graceful_timeout, so a clean stop is never cut short by us.
STOP_TIMEOUT_SECONDS = 30


class Command(BaseCommand):
    # handle() runs the system checks itself, after the startup checks: a missing key or
    # certificate is then told in one line rather than among the full check report.
    requires_system_checks: list[str] = []
    help = (
        "Serve the application over HTTPS (TLS 1.2 or newer) with gunicorn, redirect plain "
        "HTTP to it, and run the job consumer; Ctrl-C or SIGTERM stops all of them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", help="address to listen on (AFSPRAAK_BIND_HOST)")
        parser.add_argument("--port", type=int, help="HTTPS port (AFSPRAAK_HTTPS_PORT)")
        parser.add_argument(
            "--http-port", type=int, help="HTTP redirect port, 0 for none (AFSPRAAK_HTTP_PORT)"
        )
        parser.add_argument("--cert", type=Path, help="certificate chain, PEM (AFSPRAAK_TLS_CERT)")
        parser.add_argument("--key", type=Path, help="private key, PEM (AFSPRAAK_TLS_KEY)")
        parser.add_argument("--workers", type=int, help="web worker processes")

    def handle(self, *args: Any, **options: Any) -> None:
        host: str = options["host"] or settings.AFSPRAAK_BIND_HOST
        port: int = _or_default(options["port"], settings.AFSPRAAK_HTTPS_PORT)
        http_port: int = _or_default(options["http_port"], settings.AFSPRAAK_HTTP_PORT)
        cert: Path = options["cert"] or settings.AFSPRAAK_TLS_CERT
        key: Path = options["key"] or settings.AFSPRAAK_TLS_KEY
        workers: int = _or_default(options["workers"], settings.AFSPRAAK_WEB_WORKERS)
        try:
            base_url = _check(host, port, http_port, cert, key, workers)
        except startup.StartupError as error:
            raise CommandError(str(error)) from None
        self.check()
        redirect = None
        if http_port:
            try:
                redirect = RedirectServer(host, http_port, base_url)
            except OSError as error:
                raise CommandError(
                    f"cannot listen on {host}:{http_port}: {error.strerror}"
                ) from None
        supervisor = Supervisor(
            [
                processes.web_server(
                    host=host,
                    port=port,
                    cert=cert,
                    key=key,
                    workers=workers,
                    threads=settings.AFSPRAAK_WEB_THREADS,
                    openssl_conf=settings.AFSPRAAK_OPENSSL_CONF,
                ),
                processes.job_consumer(),
            ],
            stop_timeout=STOP_TIMEOUT_SECONDS,
        )
        with supervisor.stopping_on_signals():
            try:
                failure = self._run(
                    supervisor, redirect, base_url, processes.bind_address(host, port)
                )
            finally:
                if redirect:
                    redirect.stop()
                problems = supervisor.stop()
        if failure:
            raise CommandError("; ".join([failure, "stopped everything", *problems]))
        if problems:
            raise CommandError("; ".join(problems))
        self.stdout.write("afspraak serve: stopped")

    def _run(
        self, supervisor: Supervisor, redirect: RedirectServer | None, base_url: str, bind: str
    ) -> str | None:
        """Start everything and watch it until a stop request (None) or a failure (its story)."""
        try:
            # Children first: they are forked from a process that has no other thread yet.
            supervisor.start()
        except OSError as error:
            return f"cannot start a server process: {error}"
        watched = {}
        if redirect:
            redirect.start()
            watched["HTTP redirect listener"] = redirect.is_serving
        self.stdout.write(
            f"afspraak serve: {base_url}/ (listening on {bind})"
            + (f", plain HTTP on port {redirect.server_port} redirects there" if redirect else "")
            + ", job consumer running; Ctrl-C stops"
        )
        self.stdout.flush()
        return supervisor.wait(watched)


def _check(host: str, port: int, http_port: int, cert: Path, key: Path, workers: int) -> str:
    """Run every startup check; return the https base URL that redirects point to."""
    startup.check_port("--port", port)
    startup.check_port("--http-port", http_port, allow_zero=True)
    if http_port == port:
        raise startup.StartupError(f"--http-port and --port are both {port}")
    if workers < 1:
        raise startup.StartupError(f"--workers must be at least 1, not {workers}")
    base_url = https_base_url(startup.site_host(settings.SITE_URL), port)
    startup.check_tls_files(cert, key)
    startup.check_master_keyset()
    startup.check_openssl_config(settings.AFSPRAAK_OPENSSL_CONF)
    startup.check_can_listen(host, port)
    return base_url


def _or_default(value: int | None, default: int) -> int:
    return default if value is None else value
