from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "afspraak.audit"
    label = "audit"
