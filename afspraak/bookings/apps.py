from django.apps import AppConfig


class BookingsConfig(AppConfig):
    name = "afspraak.bookings"
    label = "bookings"

    def ready(self) -> None:
        from afspraak.bookings import (  # noqa: F401  (outbox handlers)
            erasure,
            link_renewal,
            notifications,
            reschedule_requests,
        )
        from afspraak.bookings.audit_names import provide
        from afspraak.bookings.booking import connect_slot_receivers

        provide()
        connect_slot_receivers()
