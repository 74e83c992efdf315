"""The organizations crypto works for, and their tenant context, without importing tenancy.

Crypto sits below tenancy (docs/architecture.md, "Layers"), yet keysets and encrypted
rows are tenant rows: on PostgreSQL row-level security shows them only inside their
organization's context. So:

- the organization model is the one crypto's own ``OrganizationKeyset.organization``
  foreign key points to (as ``get_user_model`` finds the user model);
- the tenant context (a transaction, the django-scopes scope and the setting the
  row-level-security policies read) is handed down by the tenancy app when it is
  ready (``provide_tenant_context``). Until then every per-organization operation
  refuses to run (fail closed).
"""

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol, cast

from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, models

from afspraak.audit.trail import record
from afspraak.crypto.models import OrganizationKeyset


class Organization(Protocol):
    """What crypto reads of an organization."""

    pk: Any
    public_id: str
    slug: str


# (organization, *, using=database alias) -> the context manager
OrganizationContext = Callable[..., AbstractContextManager[Any]]


@dataclass(frozen=True)
class _TenantContext:
    enter: OrganizationContext
    setting: str


_provided: _TenantContext | None = None


def provide_tenant_context(enter: OrganizationContext, *, setting: str) -> None:
    """Hand crypto the organization context and the database setting its RLS policies read."""
    global _provided
    _provided = _TenantContext(enter=enter, setting=setting)


def _tenant_context() -> _TenantContext:
    if _provided is None:
        raise ImproperlyConfigured(
            "no organization context was provided to afspraak.crypto: the tenancy app "
            "provides it when it is ready (afspraak.tenancy must be in INSTALLED_APPS)"
        )
    return _provided


def organization_context(
    organization: Organization, *, using: str = DEFAULT_DB_ALIAS
) -> AbstractContextManager[Any]:
    """Enter ``organization``'s tenant context: a transaction, its scope, its RLS setting."""
    return _tenant_context().enter(organization, using=using)


def organization_setting() -> str:
    """Return the transaction-local database setting that names the context's organization."""
    return _tenant_context().setting


def organization_model() -> type[models.Model]:
    """Return the organization model: the target of the keysets' foreign key."""
    model = OrganizationKeyset._meta.get_field("organization").related_model
    if not isinstance(model, type):
        raise ImproperlyConfigured("OrganizationKeyset.organization names no model")
    return model


def organizations(*, order_by: str = "pk") -> list[Organization]:
    """Return every organization, in ``order_by`` order."""
    return cast(list[Organization], list(organization_model()._default_manager.order_by(order_by)))


def organization_with_pk(pk: int) -> Organization | None:
    """Return the organization with database id ``pk``, or None."""
    found = organization_model()._default_manager.filter(pk=pk).first()
    return cast(Organization | None, found)


def organization_with_slug(slug: str) -> Organization | None:
    """Return the organization with ``slug``, or None."""
    found = organization_model()._default_manager.filter(slug=slug).first()
    return cast(Organization | None, found)


def record_organization_event(
    action: str, organization: Organization, data: dict[str, Any]
) -> None:
    """Record a system (actor-less) audit event about ``organization`` itself."""
    # Organizations are model instances; the protocol names only what crypto reads of them.
    subject = cast(models.Model, organization)
    record(action, actor=None, organization=subject, target=subject, data=data)
