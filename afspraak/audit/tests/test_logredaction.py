"""URL secrets never reach a log line: the filter on every handler of settings.LOGGING."""

import logging
import sys
from typing import Any

from django.conf import settings

from afspraak.audit.logredaction import REDACTED, RedactSecretsFilter, redact_secrets

TOKEN = "eyJvIjoib3JnXzEiLCJiIjoiYmtnXzEifQ:1tZ3aB:AbCdEf-gh_IJ"


def test_every_handler_in_the_logging_settings_redacts():
    logging_settings: dict[str, Any] = settings.LOGGING
    for name, handler in logging_settings["handlers"].items():
        assert "redact_secrets" in handler.get("filters", []), name
    assert (
        logging_settings["filters"]["redact_secrets"]["()"]
        == "afspraak.audit.logredaction.RedactSecretsFilter"
    )


def test_each_kind_of_secret_path_is_redacted():
    lines = {
        f"Bad Request: /b/{TOKEN}/reschedule/": f"Bad Request: /b/{REDACTED}/reschedule/",
        f"https://example.test/b/{TOKEN}/": f"https://example.test/b/{REDACTED}/",
        f"Not Found: /invitations/{TOKEN}/": f"Not Found: /invitations/{REDACTED}/",
        f"GET /accounts/confirm-email/{TOKEN}/": f"GET /accounts/confirm-email/{REDACTED}/",
        f"/accounts/password/reset/key/1a-{TOKEN}/": f"/accounts/password/reset/key/{REDACTED}/",
    }
    for line, redacted in lines.items():
        assert redact_secrets(line) == redacted


def test_the_fixed_pages_beside_the_secrets_stay_readable():
    for line in ["/b/new-link/acme/", "/accounts/password/reset/key/done/", "/o/acme/audit/"]:
        assert redact_secrets(line) == line


def test_the_filter_redacts_arguments_and_tracebacks():
    try:
        raise ValueError(f"no booking at /b/{TOKEN}/")
    except ValueError:
        record = logging.LogRecord(
            "django.request",
            logging.ERROR,
            __file__,
            1,
            "%s: %s",
            ("Internal Server Error", f"/b/{TOKEN}/cancel/"),
            sys.exc_info(),
        )
    assert RedactSecretsFilter().filter(record)
    formatted = logging.Formatter().format(record)
    assert TOKEN not in formatted
    assert f"Internal Server Error: /b/{REDACTED}/cancel/" in formatted
    assert f"no booking at /b/{REDACTED}/" in formatted


def test_arguments_that_do_not_fit_the_format_are_still_redacted():
    record = logging.LogRecord(
        "x", logging.WARNING, __file__, 1, "%d", (f"/invitations/{TOKEN}/",), None
    )
    RedactSecretsFilter().filter(record)
    assert TOKEN not in record.getMessage()
