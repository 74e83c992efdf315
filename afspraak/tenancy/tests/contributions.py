"""Entries other apps add to the URL-by-role matrix and the cross-tenant probes.

An app whose pages live under /o/<org_slug>/ lists them in
``afspraak/<app>/tests/url_matrix.py`` as ``MATRIX = {url name: (method, allowed roles,
build)}``, where ``build(tenants)`` returns the URL kwargs (besides ``org_slug``) and
the POST data; its staff-only pages as ``STAFF = {url name: (method, build)}``. An app
with a tenant model lists it in
``afspraak/<app>/tests/cross_tenant.py`` as ``PROBES = {model label: probe}``, where
``probe(client, tenants)`` uses organization B's object in organization A's URLs and
forms as A's owner and asserts a 404 and no change (or a string: why no URL or form
of an organization takes that model's id). The tenancy tests collect both.
"""

import importlib
from typing import Any

from django.conf import settings


def collect(module_name: str, attribute: str) -> dict[str, Any]:
    """Merge ``attribute`` of ``afspraak.<app>.tests.<module_name>`` over every app."""
    merged: dict[str, Any] = {}
    for app in settings.INSTALLED_APPS:
        if not app.startswith("afspraak.") or app == "afspraak.tenancy":
            continue
        try:
            module = importlib.import_module(f"{app}.tests.{module_name}")
        except ModuleNotFoundError as error:
            if error.name in (f"{app}.tests", f"{app}.tests.{module_name}"):
                continue
            raise
        merged.update(getattr(module, attribute, {}))
    return merged
