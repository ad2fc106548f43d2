"""/api/v1/: every app's endpoints, and the OpenAPI document at /api/v1/schema/."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("", include("controlplane.identities.urls")),
    path("", include("controlplane.agents.urls")),
    path("", include("controlplane.resources.urls")),
    path("", include("controlplane.access.urls")),
    path("", include("controlplane.policies.urls")),
    path("", include("controlplane.masking.urls")),
    path("", include("controlplane.guardrails.urls")),
    path("", include("controlplane.mcp_server.urls")),
    path("", include("controlplane.audit.urls")),
    path("", include("controlplane.sessions.urls")),
    path("", include("controlplane.audit.export.urls")),
    path("", include("controlplane.federation.urls")),
    path("", include("controlplane.execution.urls")),
]
