from django.apps import AppConfig


class PostureConfig(AppConfig):
    name = "afspraak.posture"
    label = "posture"
    verbose_name = "Security posture"

    def ready(self) -> None:
        # The daily audit job registers with Huey when its module is imported.
        from afspraak.posture import job  # noqa: F401
