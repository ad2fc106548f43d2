from django.urls import path

from controlplane.audit import apis

urlpatterns = [
    path("audit/events", apis.AuditEventListApi.as_view(), name="audit-events"),
    path("audit/checkpoint", apis.AuditCheckpointApi.as_view(), name="audit-checkpoint"),
    path(
        "audit/proofs/inclusion",
        apis.AuditInclusionProofApi.as_view(),
        name="audit-proof-inclusion",
    ),
    path(
        "audit/proofs/consistency",
        apis.AuditConsistencyProofApi.as_view(),
        name="audit-proof-consistency",
    ),
    path("audit/keys", apis.AuditKeysApi.as_view(), name="audit-keys"),
    path("audit/gaps", apis.AuditGapsApi.as_view(), name="audit-gaps"),
]
