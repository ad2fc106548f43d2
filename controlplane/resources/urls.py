from django.urls import path

from controlplane.resources import apis

urlpatterns = [
    path("resources", apis.ResourceListCreateApi.as_view(), name="resources"),
    path("resources/<slug:name>", apis.ResourceDetailApi.as_view(), name="resource"),
]
