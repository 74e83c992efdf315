from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "afspraak.bookings"
    label = "bookings"
