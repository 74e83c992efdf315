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
