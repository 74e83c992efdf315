from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from afspraak.tenancy.access import memberships_of
from afspraak.tenancy.context import CURRENT_ORGANIZATION_SESSION_KEY


def home(request: HttpRequest) -> HttpResponse:
    """Show the landing page, or the signed-in user's organizations."""
    return render(
        request,
        "home.html",
        {
            "memberships": memberships_of(request.user),
            "current_organization": request.session.get(CURRENT_ORGANIZATION_SESSION_KEY),
        },
    )
