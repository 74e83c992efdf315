"""The host's booking pages, under /o/<org_slug>/bookings/."""

from django.urls import path

from afspraak.bookings import dashboard

app_name = "dashboard"

urlpatterns = [
    path("o/<slug:org_slug>/bookings/", dashboard.booking_list, name="bookings"),
    # Before the booking pattern, which would take "erasures" for a booking id.
    path("o/<slug:org_slug>/bookings/erasures/", dashboard.erasure_list, name="erasures"),
    path(
        "o/<slug:org_slug>/bookings/<str:booking_id>/",
        dashboard.booking_detail,
        name="booking",
    ),
    path(
        "o/<slug:org_slug>/bookings/<str:booking_id>/cancel/",
        dashboard.booking_cancel,
        name="booking_cancel",
    ),
    path(
        "o/<slug:org_slug>/bookings/<str:booking_id>/ask-to-reschedule/",
        dashboard.booking_ask_to_reschedule,
        name="booking_ask_to_reschedule",
    ),
    path(
        "o/<slug:org_slug>/bookings/<str:booking_id>/approve/",
        dashboard.booking_approve,
        name="booking_approve",
    ),
    path(
        "o/<slug:org_slug>/bookings/<str:booking_id>/decline/",
        dashboard.booking_decline,
        name="booking_decline",
    ),
]
