from django.apps import AppConfig


class GuardrailsConfig(AppConfig):
    name = "controlplane.guardrails"
    label = "guardrails"
    verbose_name = "Guardrails"
