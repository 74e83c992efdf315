from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "afspraak.audit"
    label = "audit"

    def ready(self) -> None:
        # Registers the SIEM handler of the outbox (and, through outbox, its jobs).
        from afspraak.audit import trail  # noqa: F401
