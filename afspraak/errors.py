"""Domain errors: what a domain function raises when it refuses, with the status it maps to.

Domain code never raises ``Http404`` or returns responses; the edges (pages, API,
commands) turn these into a 4xx answer or a non-zero exit. ``str(error)`` is a message
the person asking can act on.
"""


class DomainError(Exception):
    """A refused request; ``status`` is the HTTP status the edges answer with."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(DomainError):
    """The object does not exist, or belongs to someone the actor cannot see: the same answer."""

    status = 404


class ForbiddenError(DomainError):
    """The actor may see the object but not do this to it."""

    status = 403


class ReauthenticationRequiredError(ForbiddenError):
    """The actor must confirm it is them (their password again) before this change.

    A page answers with the re-authentication page, then carries on with the request.
    """


class ConflictError(DomainError):
    """The change would break a rule, or the object is in no state for it."""

    status = 409
