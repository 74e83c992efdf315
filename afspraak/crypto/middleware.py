"""Turns a key or ciphertext failure during a request into a deliberate 503 page."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from afspraak.crypto.errors import CryptoError
from afspraak.crypto.reporting import report_failure

UNAVAILABLE_MESSAGE = "A stored value could not be decrypted; the operator has been alerted."
_PAGE = (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
    "<title>Temporarily unavailable</title></head>"
    f"<body><h1>Temporarily unavailable</h1><p>{UNAVAILABLE_MESSAGE}</p></body></html>\n"
)


class CryptoFailureMiddleware:
    """Answer 503 with a plain message when a value cannot be decrypted (fail closed).

    The operator's details (which key, which row) go to the audit trail and the SIEM,
    never to the visitor. Put it last in ``MIDDLEWARE`` so it sees the view's exception
    first.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, CryptoError):
            return None
        report_failure(exception, request=request)
        response = HttpResponse(_PAGE, status=503, content_type="text/html; charset=utf-8")
        response["Cache-Control"] = "no-store"
        return response
