"""The branding settings page, and the stylesheet and logo the public pages load."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from afspraak.audit.context import AuditContext
from afspraak.errors import NotFoundError
from afspraak.images import CACHE_BRIEFLY, CACHE_IMMUTABLE, image_response
from afspraak.tenancy.access import access_for_visitor
from afspraak.tenancy.branding import (
    MAX_LOGO_BYTES,
    brand_navigation_stylesheet,
    brand_stylesheet,
    brand_version,
    update_branding,
)
from afspraak.tenancy.embedding import update_embed_origins
from afspraak.tenancy.errors import TenancyError
from afspraak.tenancy.forms import BrandingForm, EmbeddingForm
from afspraak.tenancy.models import Organization, OrganizationLogo
from afspraak.tenancy.pages import OrganizationRequest, organization_page_context, organization_view
from afspraak.tenancy.roles import Permission


@organization_view(Permission.MANAGE_MEETING_TYPES)
def branding(request: OrganizationRequest) -> HttpResponse:
    organization = request.organization
    form = BrandingForm(
        request.POST or None,
        request.FILES or None,
        initial={"accent_colour": organization.accent_colour},
    )
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["logo"]
        try:
            # Read one byte more than allowed, so an oversized file is refused unread.
            logo = upload.read(MAX_LOGO_BYTES + 1) if upload else None
            update_branding(
                request.access,
                accent_colour=form.cleaned_data["accent_colour"],
                logo=logo,
                remove_logo=form.cleaned_data["remove_logo"],
            )
        except TenancyError as error:
            form.add_error(None, str(error))
            return render(
                request,
                "tenancy/branding.html",
                organization_page_context(request, form=form),
                status=error.status,
            )
        messages.success(request, "Branding saved.")
        return redirect("tenancy:branding", org_slug=organization.slug)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "tenancy/branding.html",
        organization_page_context(request, form=form),
        status=status,
    )


@organization_view(Permission.MANAGE_SECURITY)
def embedding(request: OrganizationRequest) -> HttpResponse:
    organization = request.organization
    form = EmbeddingForm(
        request.POST or None, initial={"embed_origins": organization.embed_origins}
    )
    if request.method == "POST" and form.is_valid():
        try:
            update_embed_origins(request.access, form.cleaned_data["embed_origins"])
        except TenancyError as error:
            form.add_error("embed_origins", str(error))
            return render(
                request,
                "tenancy/embedding.html",
                organization_page_context(request, form=form),
                status=error.status,
            )
        messages.success(request, "Embedding settings saved.")
        return redirect("tenancy:embedding", org_slug=organization.slug)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "tenancy/embedding.html",
        organization_page_context(request, form=form),
        status=status,
    )


def _organization_or_404(org_slug: str) -> Organization:
    organization = Organization.objects.filter(slug=org_slug).first()
    if organization is None:
        raise NotFoundError("There is no such organization.")
    return organization


def stylesheet(request: HttpRequest, org_slug: str, version: str) -> HttpResponse:
    """Serve the organization's accent as CSS custom properties."""
    organization = _organization_or_404(org_slug)
    response = HttpResponse(brand_stylesheet(organization), content_type="text/css")
    current = version == brand_version(organization)
    response["Cache-Control"] = CACHE_IMMUTABLE if current else CACHE_BRIEFLY
    return response


def navigation_stylesheet(request: HttpRequest, org_slug: str, version: str) -> HttpResponse:
    """Serve the accent for the organization navigation of its members' pages."""
    organization = _organization_or_404(org_slug)
    response = HttpResponse(brand_navigation_stylesheet(organization), content_type="text/css")
    response["Cache-Control"] = (
        CACHE_IMMUTABLE if version == brand_version(organization) else CACHE_BRIEFLY
    )
    return response


def logo(request: HttpRequest, org_slug: str, version: str) -> HttpResponse:
    """Serve the organization's logo as the image type it was checked to be."""
    access = access_for_visitor(_organization_or_404(org_slug), AuditContext.from_request(request))
    with access.scope() as organization:
        image = OrganizationLogo.objects.filter(organization=organization).first()
        if image is None:
            raise NotFoundError("This organization has no logo.")
        data, content_type = bytes(image.data), image.content_type
    return image_response(data, content_type, current=version == brand_version(organization))
