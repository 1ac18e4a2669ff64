from django.apps import AppConfig


class WorkersRegistryConfig(AppConfig):
    name = "webapp.workers_registry"
    label = "workers_registry"
    verbose_name = "Workers"
