"""gunicorn settings for ``afspraak serve`` (``--config python:afspraak.server.gunicorn_config``).

Per-run values (address, certificate, key, worker counts) come on the command line
that ``afspraak.server.processes`` builds; what lives here is the part that must not
vary: the worker class, the TLS policy and a proxy trust of nothing.
"""

from typing import Any

from afspraak.server import bare_responses
from afspraak.server.tls import gunicorn_ssl_context

# gunicorn's own error answers (400, 414 …) carry the security headers; no Server banner.
bare_responses.install()

worker_class = "gthread"

# The master imports Django once and forks the workers from it, instead of every worker
# importing it at the same time (on a loaded 2-core machine two workers were ready after
# about 5 s instead of 7 to 9 s), and the workers share the imported code's memory.
preload_app = True

ssl_context = gunicorn_ssl_context

# gunicorn would rewrite wsgi.url_scheme from X-Forwarded-Proto (and take SCRIPT_NAME
# and PATH_INFO from headers) for any peer in forwarded_allow_ips, by default
# 127.0.0.1, i.e. every local process. The scheme of a request is decided in one place
# only: Django's SECURE_PROXY_SSL_HEADER, set when AFSPRAAK_TRUST_X_FORWARDED_PROTO is.
forwarded_allow_ips = ""
secure_scheme_headers: dict[str, str] = {}
forwarder_headers = ""
proxy_protocol = "off"
proxy_allow_ips = ""

# The control socket is one more local way in, shared by every gunicorn of the user.
control_socket_disable = True

# Below the supervisor's stop timeout, so gunicorn's own clean stop always wins.
graceful_timeout = 20
timeout = 30
keepalive = 5

errorlog = "-"


def when_ready(server: Any) -> None:
    """Close any database connection the master opened while loading the app, before forking."""
    # A connection inherited by forked workers would be one socket shared by several
    # processes; each worker must open its own.
    from django.db import connections

    connections.close_all()
