from django.apps import AppConfig


class ResourcesConfig(AppConfig):
    name = "controlplane.resources"
    label = "resources"
    verbose_name = "Resources"
