from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "afspraak.tenancy"
    label = "tenancy"

    def ready(self) -> None:
        from afspraak.tenancy import receivers  # noqa: F401  (connects the login receiver)
