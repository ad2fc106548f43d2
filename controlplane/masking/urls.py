from django.urls import path

from controlplane.masking import apis

urlpatterns = [
    path("masking-policies", apis.MaskingPolicyListCreateApi.as_view(), name="masking-policies"),
    path(
        "masking-policies/<slug:name>",
        apis.MaskingPolicyDetailApi.as_view(),
        name="masking-policy",
    ),
]
