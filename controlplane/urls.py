"""Root URLs: the REST API, the Django admin and a health check."""

from django.contrib import admin
from django.urls import include, path

from controlplane.health import healthz

urlpatterns = [
    path("api/v1/", include("controlplane.api.urls")),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]
