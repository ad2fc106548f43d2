from django.urls import path

from controlplane.identities import apis

urlpatterns = [
    path("tokens", apis.TokenMintApi.as_view(), name="tokens"),
    path("service-accounts", apis.ServiceAccountListCreateApi.as_view(), name="service-accounts"),
    path(
        "service-accounts/<str:name>/api-keys",
        apis.ServiceAccountApiKeyCreateApi.as_view(),
        name="service-account-api-keys",
    ),
]
