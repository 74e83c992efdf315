from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "afspraak.bookings"
    label = "bookings"

    def ready(self) -> None:
        from afspraak.bookings import erasure, link_renewal, notifications  # noqa: F401  (outbox handlers)
        from afspraak.bookings.audit_names import provide

        provide()
