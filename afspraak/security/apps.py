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
        from afspraak.security.gates import REFUSAL_MESSAGES, suspension_check
        from afspraak.tenancy.access import register_admission_check

        # Tenancy cannot import security: it is handed the check.
        register_admission_check("security.suspension", suspension_check, REFUSAL_MESSAGES)
