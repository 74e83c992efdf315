from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "afspraak.scheduling"
    label = "scheduling"
