from django.urls import path

from controlplane.audit.export import apis

urlpatterns = [
    path("audit/exports", apis.AuditExportApi.as_view(), name="audit-exports"),
]
