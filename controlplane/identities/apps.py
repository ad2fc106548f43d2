from django.apps import AppConfig


class IdentitiesConfig(AppConfig):
    name = "controlplane.identities"
    label = "identities"
    verbose_name = "Identities"

    def ready(self) -> None:
        # Registers the OpenAPI description of ApiKeyAuthentication with drf-spectacular.
        from controlplane.identities import schema  # noqa: F401
