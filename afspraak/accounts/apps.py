from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "afspraak.accounts"
    label = "accounts"

    def ready(self) -> None:
        from afspraak.accounts import (
            mfa_secrets,  # noqa: F401  (connects the sealing receivers)
            receivers,  # noqa: F401  (connects the audit receivers)
        )
