from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "afspraak.audit"
    label = "audit"

    def ready(self) -> None:
        # Registers the outbox handlers of the SIEM line, the chain, detection and alerts,
        # and their jobs.
        from afspraak.audit import alerts, chain, detection, trail  # noqa: F401
