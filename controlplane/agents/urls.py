from django.urls import path

from controlplane.agents import apis

urlpatterns = [
    path("agents", apis.AgentListCreateApi.as_view(), name="agents"),
    path(
        "agents/<str:name>/token/rotate",
        apis.AgentTokenRotateApi.as_view(),
        name="agent-token-rotate",
    ),
    path(
        "agents/<str:name>/token/revoke",
        apis.AgentTokenRevokeApi.as_view(),
        name="agent-token-revoke",
    ),
]
