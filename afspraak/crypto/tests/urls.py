"""A page that shows an invitee's name, for the fail-closed tests of the request path."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from django_scopes import scopes_disabled

from afspraak.bookings.models import Invitee


def invitee_name(request: HttpRequest, public_id: str) -> HttpResponse:
    with scopes_disabled():
        invitee = Invitee.objects.get(public_id=public_id)
    return HttpResponse(f"Hello {invitee.name}", content_type="text/plain")


urlpatterns = [path("invitee/<str:public_id>/", invitee_name)]
