"""Give every request an id that its audit events and its response share."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from afspraak.audit.context import REQUEST_ID_HEADER, request_id_of


class RequestIdMiddleware:
    """Stamp each request with a fresh random id and answer it in ``X-Request-ID``.

    The id is made here, never taken from the client, so an event cannot be made to
    claim another request's id.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_of(request)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        return response


class StripNulBytesMiddleware:
    """Remove NUL bytes from the request's headers before anything stores them.

    No header needs one, and PostgreSQL refuses them in text columns: a User-Agent with a
    NUL would otherwise turn the login's bookkeeping (audit, lockout counters) into a 500.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        for name, value in list(request.META.items()):
            if name.startswith("HTTP_") and isinstance(value, str) and "\x00" in value:
                request.META[name] = value.replace("\x00", "")
        return self.get_response(request)
