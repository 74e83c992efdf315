"""A page that shows an invitee's name, for the fail-closed tests of the request path."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from afspraak.bookings.models import Invitee
from afspraak.tenancy.context import organization_context
from afspraak.tenancy.models import Organization


def invitee_name(request: HttpRequest, org_slug: str, public_id: str) -> HttpResponse:
    organization = Organization.objects.get(slug=org_slug)
    with organization_context(organization):
        invitee = Invitee.objects.get(public_id=public_id)
        return HttpResponse(f"Hello {invitee.name}", content_type="text/plain")


urlpatterns = [path("o/<slug:org_slug>/invitee/<str:public_id>/", invitee_name)]
