from django.urls import path

from controlplane.federation import apis

urlpatterns = [
    path("token-exchange", apis.TokenExchangeApi.as_view(), name="token-exchange"),
    path("trusted-issuers", apis.TrustedIssuerListCreateApi.as_view(), name="trusted-issuers"),
    path(
        "trusted-issuers/<str:name>/bindings",
        apis.BindingListCreateApi.as_view(),
        name="trusted-issuer-bindings",
    ),
]
