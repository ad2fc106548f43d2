from django.urls import path

from controlplane.execution import apis

urlpatterns = [
    path("resources/<slug:name>/exec", apis.ResourceExecApi.as_view(), name="resource-exec"),
]
