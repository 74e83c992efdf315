from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "afspraak.scheduling"
    label = "scheduling"

    def ready(self) -> None:
        from afspraak.scheduling.slot_cache import connect_receivers

        connect_receivers()
