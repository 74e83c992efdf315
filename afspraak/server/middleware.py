"""Answer a request the database could not serve (a failover under way) with a retryable 503."""

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

logger = logging.getLogger(__name__)

# Patroni promotes the standby within about 20 s of losing the primary (its leader ttl).
RETRY_AFTER_SECONDS = 10
UNAVAILABLE_MESSAGE = (
    "The service is briefly unavailable and nothing was saved. Please try again in a few seconds."
)


class DatabaseUnavailableMiddleware:
    """Turn a lost or refused database connection into 503 with ``Retry-After``, never a 500.

    The view's transaction has rolled back by the time the error arrives here (it left the
    ``atomic`` block), so nothing of the request was written: retrying is safe. Django drops
    the broken connection at the end of the request and, with ``CONN_HEALTH_CHECKS``, checks
    a kept one before the next request uses it; the next request connects afresh, through
    ``target_session_attrs=read-write`` to whichever node is the primary by then.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning(
            "database unavailable, answered 503: %s: %s",
            type(exception).__name__,
            str(exception).splitlines()[0] if str(exception) else "",
        )
        response: HttpResponse
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": UNAVAILABLE_MESSAGE, "retryable": True}, status=503)
        else:
            response = render(request, "503.html", {"message": UNAVAILABLE_MESSAGE}, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        response["Cache-Control"] = "no-store"
        return response
