"""Django's session middleware, except that a database failover does not undo a response.

The session is saved after the view, when the view's own transaction has committed: a
booking made, its confirmation on its way. If the database is lost just then (a failover),
Django would answer 400 ("session interrupted", the save found no row) or 500 in place of
that confirmation, and the invitee, told nothing was booked, would try a time that is
theirs already. Here the response goes out as the view made it and the session's change
(a convenience: which bookings this browser just made) is dropped and logged. Any other
failure to save, such as a session deleted by a concurrent logout, is still Django's 400.
"""

import logging

from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

_UNAVAILABLE = (OperationalError, InterfaceError)


def _database_was_lost(error: BaseException) -> bool:
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, _UNAVAILABLE):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


class SessionMiddleware(DjangoSessionMiddleware):
    """Save the session after the view; drop the change if the database is unavailable."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        try:
            return super().process_response(request, response)
        except (SessionInterrupted, *_UNAVAILABLE) as error:
            if not _database_was_lost(error):
                raise
            logger.warning(
                "database unavailable, the session's change was not saved: %s",
                type(error).__name__,
            )
            return response
