"""Root URLs: the REST API, the Django admin, a health check, OIDC and SAML sign-in, the web
pages."""

from django.contrib import admin
from django.urls import include, path

from controlplane.health import healthz

urlpatterns = [
    path("api/v1/", include("controlplane.api.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("oidc/", include("controlplane.identities.oidc.urls")),
    path("saml/", include("controlplane.identities.saml.urls")),
    path("", include("controlplane.web.urls")),
]
