"""Template tags that put an organization's branding on a page or in an e-mail."""

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils.html import format_html

from afspraak.tenancy.branding import brand_version
from afspraak.tenancy.models import Organization

register = template.Library()


@register.simple_tag
def brand_stylesheet_link(organization: object) -> str:
    """Return the <link> to the organization's accent stylesheet, or nothing without one."""
    # A page without an organization passes the template engine's empty string.
    if not isinstance(organization, Organization) or not organization.accent_colour:
        return ""
    url = reverse(
        "tenancy:brand_stylesheet",
        kwargs={"org_slug": organization.slug, "version": brand_version(organization)},
    )
    return format_html('<link rel="stylesheet" href="{}">', url)


@register.simple_tag
def brand_navigation_stylesheet_link(organization: object) -> str:
    """Return the <link> to the accent of the organization navigation, or nothing."""
    if not isinstance(organization, Organization) or not organization.accent_colour:
        return ""
    url = reverse(
        "tenancy:brand_navigation_stylesheet",
        kwargs={"org_slug": organization.slug, "version": brand_version(organization)},
    )
    # In the body beside the navigation it marks (a stylesheet link may stand there).
    return format_html('<link rel="stylesheet" href="{}">', url)


@register.simple_tag
def brand_logo_url(organization: object, *, absolute: bool = False) -> str:
    """Return the address of the organization's logo (absolute for e-mails), or ''."""
    if not isinstance(organization, Organization) or not organization.logo_hash:
        return ""
    path = reverse(
        "tenancy:brand_logo",
        kwargs={"org_slug": organization.slug, "version": brand_version(organization)},
    )
    return f"{settings.SITE_URL}{path}" if absolute else path
