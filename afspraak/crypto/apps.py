from django.apps import AppConfig
from django.core import checks


class CryptoConfig(AppConfig):
    name = "afspraak.crypto"
    label = "crypto"

    def ready(self) -> None:
        from afspraak.crypto.checks import check_master_key

        checks.register(check_master_key, checks.Tags.security)
