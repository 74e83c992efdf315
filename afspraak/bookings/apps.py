from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "afspraak.bookings"
    label = "bookings"

    def ready(self) -> None:
        from afspraak.bookings import erasure, link_renewal, notifications  # noqa: F401  (outbox handlers)
        from afspraak.bookings.booking import connect_slot_receivers

        connect_slot_receivers()
