from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "afspraak.security"
    label = "security"

    def ready(self) -> None:
        # Tells the audit layer's alerts who an organization's security contacts are.
        from afspraak.security import (
            contacts,  # noqa: F401
            containment,  # noqa: F401  (outbox handler)
        )
        from afspraak.security.gates import REFUSAL_MESSAGES, suspension_gate
        from afspraak.tenancy.access import register_gate

        # Tenancy cannot import security: it is handed the gate.
        register_gate("security.suspension", suspension_gate, REFUSAL_MESSAGES)
