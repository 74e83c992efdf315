from django.apps import AppConfig


class BackupsConfig(AppConfig):
    name = "afspraak.backups"
    label = "backups"
    verbose_name = "Backups"
