"""Bounded uploads for the anonymous report form: refused before their body is read.

Django writes an upload to memory or a temporary file before a form sees its size, and
its CSRF check reads the body before the view runs. A view under ``bounded_report_upload``
is therefore checked first: a ``Content-Length`` over the limit is answered 413, and a
body without one (``Transfer-Encoding: chunked``, which Django would read as empty) 411,
both without reading a byte of it. Within the limit, an upload handler still stops the
attachment as soon as it passes its own limit, before the next handler stores it.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt, csrf_protect

# Room for the report's text fields and the multipart boundaries beside its attachment.
FORM_ROOM_BYTES = 64 * 1024


class AttachmentTooLargeError(Exception):
    """An uploaded file passed the attachment limit while it was being received."""


def report_body_limit() -> int:
    """Return the largest body a vulnerability report may have, in bytes."""
    return settings.AFSPRAAK_DISCLOSURE_ATTACHMENT_MAX_BYTES + FORM_ROOM_BYTES


class AttachmentLimitHandler(FileUploadHandler):
    """Pass an uploaded file on to the next handler only while it is within the limit."""

    received = 0

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > settings.AFSPRAAK_DISCLOSURE_ATTACHMENT_MAX_BYTES:
            raise AttachmentTooLargeError
        return raw_data

    def file_complete(self, file_size: int) -> None:
        # The next handler (memory or temporary file) makes the uploaded file.
        return None


def _refused(request: HttpRequest, status: int, message: str) -> HttpResponse:
    return render(
        request, "compliance/disclosure_refused.html", {"message": message}, status=status
    )


def _too_large(request: HttpRequest) -> HttpResponse:
    limit = settings.AFSPRAAK_DISCLOSURE_ATTACHMENT_MAX_BYTES
    return _refused(
        request,
        413,
        f"The report is too large: its attachment may have at most {limit // 1024} KiB. "
        "Nothing was kept: shorten the attachment, or leave it out and describe it.",
    )


def _length_refusal(request: HttpRequest) -> HttpResponse | None:
    length = request.META.get("CONTENT_LENGTH") or ""
    if not length:
        if request.META.get("HTTP_TRANSFER_ENCODING"):
            return _refused(
                request,
                411,
                "Your browser sent the report without its length. Send it again from the form.",
            )
        return None
    try:
        size = int(length)
    except ValueError:
        return _refused(request, 400, "The report's length is not a number.")
    return _too_large(request) if size > report_body_limit() else None


def bounded_report_upload(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    """Refuse an oversized report before its body is read, then check CSRF as usual."""
    protected = csrf_protect(view)

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method != "POST":
            return protected(request, *args, **kwargs)
        refusal = _length_refusal(request)
        if refusal is not None:
            return refusal
        request.upload_handlers.insert(0, AttachmentLimitHandler(request))
        try:
            return protected(request, *args, **kwargs)
        except AttachmentTooLargeError:
            return _too_large(request)

    # The middleware's CSRF check would read the body first: exempt from it, the view is
    # still CSRF-protected, by ``protected`` after the length check.
    return csrf_exempt(checked)
