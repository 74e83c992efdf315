from django.apps import AppConfig


class CryptoConfig(AppConfig):
    name = "afspraak.crypto"
    label = "crypto"
