"""What goes wrong with keys and ciphertexts, and how it is reported (fail closed, control D1).

Every failure is a ``CryptoError``: the operation stops, nothing is returned in
place of the value and nothing is written over it. Messages name keys, rows and
files by their ids, never a decrypted value, so they are safe in logs and error
reports. ``report_failure`` logs a failure and turns it into one audit event
(which the SIEM log stream carries as an alert).
"""

import logging
from typing import Any

from django.db import connection
from django.http import HttpRequest

logger = logging.getLogger("afspraak.crypto")


class CryptoError(Exception):
    """A key or a stored value cannot be used; the message tells the operator what to do."""

    audit_action = "crypto.failure"

    def __init__(self, message: str, *, organization_id: int | None = None, **details: Any) -> None:
        super().__init__(message)
        self.organization_id = organization_id
        self.details = details
        self.logged = False
        self.reported = False


class MasterKeyError(CryptoError):
    """The master keyset cannot be used (missing, readable by others, wrong, not a keyset)."""

    audit_action = "crypto.master_key.unavailable"


class MissingKeysetError(CryptoError):
    """An organization has no keyset for the purpose asked for."""

    audit_action = "crypto.keyset.missing"


class DecryptionError(CryptoError):
    """A stored ciphertext did not authenticate under its organization's keys."""

    audit_action = "crypto.decryption.failed"


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
    from afspraak.audit.context import context_of
    from afspraak.audit.models import Outcome
    from afspraak.audit.trail import record
    from afspraak.tenancy.models import Organization

    if not failure.logged:
        logger.error("%s", failure)
        failure.logged = True
    if failure.reported or _in_transaction():
        return
    organization = None
    if failure.organization_id is not None:
        organization = Organization.objects.filter(pk=failure.organization_id).first()
    record(
        failure.audit_action,
        actor=getattr(request, "user", None),
        outcome=Outcome.FAILURE,
        organization=organization,
        context=context_of(request),
        data={"error": type(failure).__name__, **failure.details},
    )
    failure.reported = True
