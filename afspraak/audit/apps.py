from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "afspraak.audit"
    label = "audit"

    def ready(self) -> None:
        # Registers the outbox handlers of the SIEM line and the chain, and their jobs.
        from afspraak.audit import chain, trail  # noqa: F401
