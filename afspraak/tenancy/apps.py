from django.apps import AppConfig


class TenancyConfig(AppConfig):
    name = "afspraak.tenancy"
    label = "tenancy"
