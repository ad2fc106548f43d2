from django.urls import path

from controlplane.policies import apis

urlpatterns = [
    path("resources/<slug:name>/policy", apis.ResourcePolicyApi.as_view(), name="resource-policy"),
]
