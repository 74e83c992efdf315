"""Keeps the secrets some URLs carry out of every log line (a filter on each LOGGING handler).

An invitee's link (/b/<token>/…), an invitation (/invitations/<token>/), a password
reset (/accounts/password/reset/key/<key>/) and an e-mail confirmation
(/accounts/confirm-email/<key>/) each work for whoever holds the address, and Django
logs the path of every 4xx and 5xx ("Bad Request: /b/<token>/reschedule/"). The filter
replaces those path segments with ``[redacted]`` in the formatted message and in the
traceback, before any handler writes them.
"""

import logging
import re

REDACTED = "[redacted]"
# The path segment after each of these prefixes is a secret; "new-link" and "done" are
# fixed pages at the same place, not secrets.
_SECRET_SEGMENT = re.compile(
    r"(?P<prefix>/b/(?!new-link/)"
    r"|/invitations/"
    r"|/accounts/confirm-email/"
    r"|/accounts/password/reset/key/(?!done/))"
    r"[^/\s?#\"'<>]+"
)


def redact_secrets(text: str) -> str:
    """Return ``text`` with the secret segments of the URLs it mentions replaced."""
    return _SECRET_SEGMENT.sub(rf"\g<prefix>{REDACTED}", text)


class RedactSecretsFilter(logging.Filter):
    """Format the record's message and traceback now, with the URL secrets redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # Arguments that do not fit the format: keep both, as the handler would show them.
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = redact_secrets(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_secrets(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_secrets(record.stack_info)
        return True
