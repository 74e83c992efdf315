"""How a key or ciphertext failure is reported: logged for the operator, then audited once.

The audit event (``CryptoError.audit_action``) is what the SIEM log stream carries as
an alert. It names the organization the failure belongs to, found through the
keysets' own foreign key, so crypto needs no import of the tenancy layer.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection
from django.http import HttpRequest

from afspraak.audit.context import context_of
from afspraak.audit.models import Outcome
from afspraak.audit.trail import record
from afspraak.crypto.errors import CryptoError
from afspraak.crypto.tenants import organization_with_pk

logger = logging.getLogger("afspraak.crypto")


def report_job_failure(signal: str, task: Any, exception: BaseException | None = None) -> None:
    """Report a background job's key or ciphertext failure (a Huey error-signal receiver)."""
    if isinstance(exception, CryptoError):
        report_failure(exception)


def _in_transaction() -> bool:
    """Tell whether a transaction is open; a test case's own wrapper does not count.

    This is the rule Django applies to ``atomic(durable=True)``.
    """
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def report_failure(failure: CryptoError, *, request: HttpRequest | None = None) -> None:
    """Log ``failure`` for the operator, and record it once as an audit event.

    The audit event is written outside any transaction, so that it survives the
    rollback the failure causes: inside one, it is left to the boundary that sees
    the failure after the rollback (the middleware, a command, a job's error signal,
    ``EncryptedModel.save``).
    """
    if not failure.logged:
        logger.error("%s", failure)
        failure.logged = True
    if failure.reported or _in_transaction():
        return
    organization = None
    if failure.organization_id is not None:
        organization = organization_with_pk(failure.organization_id)
    record(
        failure.audit_action,
        actor=getattr(request, "user", None),
        outcome=Outcome.FAILURE,
        organization=organization,
        context=context_of(request),
        data={"error": type(failure).__name__, **failure.details},
    )
    failure.reported = True


@contextmanager
def reporting_failures() -> Iterator[None]:
    """Record any ``CryptoError`` raised inside as an audit event, then let it go on."""
    try:
        yield
    except CryptoError as failure:
        report_failure(failure)
        raise
