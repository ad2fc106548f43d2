from django.urls import path

from controlplane.agents import apis

urlpatterns = [
    path("agents", apis.AgentListCreateApi.as_view(), name="agents"),
]
