"""Answer a request the database or Redis could not serve (a failover) with a retryable 503.

Django's ``handler500`` (``afspraak.urls``) is where every unhandled exception ends, wherever
it was raised: in a view, or in a middleware that reached the database first (the session,
the user, the second-factor check). A lost or refused connection there, to PostgreSQL or to
Redis (the cache and rate-limit counters, while Sentinel promotes a replica), gets a 503 with
``Retry-After`` instead of the 500 page.
"""

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views import defaults
from redis import ConnectionError as RedisConnectionError
from redis import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# Patroni promotes the standby within about 20 s of losing the primary (its leader ttl).
RETRY_AFTER_SECONDS = 10
UNAVAILABLE_MESSAGE = (
    "The service is briefly unavailable and nothing was saved. Please try again in a few seconds."
)

# Redis's errors for a lost or timed-out connection; the Sentinel pool reports a former
# primary that now refuses writes as a lost connection too.
_UNAVAILABLE = (OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError)


def server_error(request: HttpRequest) -> HttpResponse:
    """Answer an unhandled error: a retryable 503 when the database or Redis was unreachable.

    The request's transaction has rolled back by the time the error arrives here (it left
    the ``atomic`` block), so nothing of it was written and retrying is safe. Django drops
    the broken connection at the end of the request and, with ``CONN_HEALTH_CHECKS``, checks
    a kept one before the next request uses it; the next request connects afresh, through
    ``target_session_attrs=read-write`` to whichever node is the primary by then.
    """
    error = sys.exc_info()[1]
    if not isinstance(error, _UNAVAILABLE):
        return defaults.server_error(request)
    logger.warning(
        "database or Redis unavailable, answered 503: %s: %s",
        type(error).__name__,
        str(error).splitlines()[0] if str(error) else "",
    )
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": UNAVAILABLE_MESSAGE, "retryable": True}, status=503)
    else:
        # Rendered without the request: its context processors would reach the database.
        page = render_to_string("503.html", {"message": UNAVAILABLE_MESSAGE})
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response
