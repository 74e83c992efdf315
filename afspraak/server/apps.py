from django.apps import AppConfig


class ServerConfig(AppConfig):
    name = "afspraak.server"
    label = "server"
