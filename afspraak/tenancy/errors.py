"""Refusals of tenancy changes: each carries the message shown to the user and its status."""

from django.core.exceptions import PermissionDenied


class TenancyError(Exception):
    """A refused tenancy change; ``str(error)`` is a message the user can act on."""

    status = 400


class NotAllowedError(TenancyError, PermissionDenied):
    """The actor's role does not allow this change."""

    status = 403


class RuleViolationError(TenancyError):
    """The change would break a rule of the organization (its last owner, a duplicate …)."""

    status = 409


class InvitationRefusedError(TenancyError):
    """An invitation link cannot be used; ``code`` says why (for the audit trail)."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
