from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "afspraak.security"
    label = "security"

    def ready(self) -> None:
        # Tells the audit layer's alerts who an organization's security contacts are.
        from afspraak.security import contacts  # noqa: F401
