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
]
