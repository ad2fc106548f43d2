from django.urls import path

from controlplane.identities import apis

urlpatterns = [
    path("auth/config", apis.AuthConfigApi.as_view(), name="auth-config"),
    path("me", apis.WhoAmIApi.as_view(), name="me"),
    path("tokens", apis.TokenMintApi.as_view(), name="tokens"),
    path("service-accounts", apis.ServiceAccountListCreateApi.as_view(), name="service-accounts"),
    path(
        "service-accounts/<str:name>/api-keys",
        apis.ServiceAccountApiKeyCreateApi.as_view(),
        name="service-account-api-keys",
    ),
    path(
        "service-accounts/<str:name>/deactivate",
        apis.ServiceAccountDeactivateApi.as_view(),
        name="service-account-deactivate",
    ),
    path(
        "service-accounts/<str:name>/reactivate",
        apis.ServiceAccountReactivateApi.as_view(),
        name="service-account-reactivate",
    ),
    path("api-keys/<str:prefix>/revoke", apis.ApiKeyRevokeApi.as_view(), name="api-key-revoke"),
]
