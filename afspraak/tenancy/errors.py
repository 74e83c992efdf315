"""Refusals of tenancy changes: each carries the message shown to the user and its status."""

from afspraak.errors import ConflictError, DomainError


class TenancyError(DomainError):
    """A refused tenancy change; ``str(error)`` is a message the user can act on."""


class RuleViolationError(TenancyError, ConflictError):
    """The change would break a rule of the organization (its last owner, a duplicate …)."""


class InvitationRefusedError(TenancyError):
    """An invitation link cannot be used; ``code`` says why (for the audit trail)."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
