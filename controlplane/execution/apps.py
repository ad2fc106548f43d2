from django.apps import AppConfig


class ExecutionConfig(AppConfig):
    name = "controlplane.execution"
    label = "execution"
    verbose_name = "Exec API"
