"""The public booking pages: /<organization slug>/… and the invitee's links, /b/<token>/…."""

from django.urls import URLPattern, path, re_path

from afspraak.bookings import book_views, booking_pages, invitee_views, zone_views

app_name = "bookings"

urlpatterns: list[URLPattern] = [
    # "b" is a reserved organization slug, so these come first without shadowing anyone.
    # The time-zone list of the pickers (never a token: tokens are signed and contain ":").
    path("b/zones/<str:version>/", zone_views.zone_options, name="zone_options"),
    path("b/<str:token>/", invitee_views.manage, name="manage"),
    path("b/<str:token>/invite.ics", invitee_views.invite_ics, name="ics"),
    path("b/<str:token>/cancel/", invitee_views.cancel, name="cancel"),
    path("b/<str:token>/reschedule/", invitee_views.reschedule, name="reschedule"),
    path("b/<str:token>/erase/", invitee_views.erase, name="erase"),
    # Never a token: tokens are signed and contain ":", so none is "new-link".
    path("b/new-link/<slug:org_slug>/", invitee_views.new_link, name="new_link"),
    re_path(r"^b/(?P<rest>.*)$", invitee_views.link_not_found),
    path("<slug:org_slug>/", booking_pages.organization_page, name="organization"),
    path("<slug:org_slug>/<slug:type_slug>/", booking_pages.meeting_type_page, name="meeting_type"),
    path("<slug:org_slug>/<slug:type_slug>/book/", book_views.book, name="book"),
]
