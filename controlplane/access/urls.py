from django.urls import path

from controlplane.access import apis

urlpatterns = [
    path("grants", apis.GrantListCreateApi.as_view(), name="grants"),
    path("grants/<uuid:grant_id>/revoke", apis.GrantRevokeApi.as_view(), name="grant-revoke"),
]
