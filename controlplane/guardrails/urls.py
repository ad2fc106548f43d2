from django.urls import path

from controlplane.guardrails import apis

urlpatterns = [
    path(
        "guardrail-policies",
        apis.GuardrailPolicyListCreateApi.as_view(),
        name="guardrail-policies",
    ),
    path(
        "guardrail-policies/<slug:name>",
        apis.GuardrailPolicyDetailApi.as_view(),
        name="guardrail-policy",
    ),
    path("statement-holds", apis.StatementHoldListApi.as_view(), name="statement-holds"),
    path(
        "statement-holds/<uuid:hold_id>/approve",
        apis.StatementHoldApproveApi.as_view(),
        name="statement-hold-approve",
    ),
    path(
        "statement-holds/<uuid:hold_id>/deny",
        apis.StatementHoldDenyApi.as_view(),
        name="statement-hold-deny",
    ),
]
