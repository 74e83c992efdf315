from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_scopes import scopes_disabled


def home(request: HttpRequest) -> HttpResponse:
    """Show the landing page, or the signed-in user's organizations."""
    memberships = []
    if request.user.is_authenticated:
        # A user's own memberships span organizations by nature; listing them reveals
        # only organizations the user belongs to.
        with scopes_disabled():
            memberships = list(
                request.user.memberships.select_related("organization").order_by(
                    "organization__name"
                )
            )
    return render(request, "home.html", {"memberships": memberships})
