from django.urls import path

from controlplane.access import apis

urlpatterns = [
    path("grants", apis.GrantListCreateApi.as_view(), name="grants"),
    path("grants/<uuid:grant_id>/revoke", apis.GrantRevokeApi.as_view(), name="grant-revoke"),
    path("access-requests", apis.AccessRequestListCreateApi.as_view(), name="access-requests"),
    path(
        "access-requests/<uuid:request_id>/approve",
        apis.AccessRequestApproveApi.as_view(),
        name="access-request-approve",
    ),
    path(
        "access-requests/<uuid:request_id>/deny",
        apis.AccessRequestDenyApi.as_view(),
        name="access-request-deny",
    ),
    path(
        "access-requests/<uuid:request_id>/withdraw",
        apis.AccessRequestWithdrawApi.as_view(),
        name="access-request-withdraw",
    ),
]
