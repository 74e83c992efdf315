from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "afspraak.bookings"
    label = "bookings"

    def ready(self) -> None:
        from afspraak.bookings.booking import booking_changed
        from afspraak.bookings.models import Booking
        from afspraak.bookings.receivers import on_booking_changed

        booking_changed.connect(
            on_booking_changed, sender=Booking, dispatch_uid="afspraak.bookings.receivers"
        )
