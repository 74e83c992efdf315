"""API answers for domain errors: the same refusals, audited the same way, as the pages."""

from typing import Any

from django.core.exceptions import RequestDataTooBig
from rest_framework.response import Response
from rest_framework.views import exception_handler

from afspraak.api.authentication import TokenRefusedError
from afspraak.errors import DomainError
from afspraak.inputs.jsontext import MAX_JSON_BYTES
from afspraak.tenancy.access import AccessDeniedError, record_refusal
from afspraak.tenancy.api_tokens import record_token_refusal


def handle_api_exception(exception: Exception, context: dict[str, Any]) -> Response | None:
    """Answer a domain error with its status and message; leave the rest to DRF."""
    if isinstance(exception, TokenRefusedError):
        record_token_refusal(exception.context, exception.token, exception.reason)
        # 401 whatever DRF chose: the session authenticates first and names no challenge.
        return Response(
            {"detail": exception.detail},
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="api", error="invalid_token"'},
        )
    if isinstance(exception, RequestDataTooBig):
        # Django refuses a body past DATA_UPLOAD_MAX_MEMORY_SIZE before the JSON parser
        # sees it; the API still answers in JSON, with the limit the parser keeps.
        return Response(
            {"detail": f"The request body is too large: at most {MAX_JSON_BYTES // 1024} KiB."},
            status=413,
        )
    if isinstance(exception, AccessDeniedError):
        record_refusal(exception)
    if isinstance(exception, DomainError):
        return Response({"detail": exception.message}, status=exception.status)
    return exception_handler(exception, context)
