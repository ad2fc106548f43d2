from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "controlplane.agents"
    label = "agents"
    verbose_name = "Agents"
