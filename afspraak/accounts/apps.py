from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "afspraak.accounts"
    label = "accounts"

    def ready(self) -> None:
        from afspraak.accounts import receivers  # noqa: F401  (connects the audit receivers)
