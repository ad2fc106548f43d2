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
    path(
        "trusted-issuers/<str:name>/deactivate",
        apis.TrustedIssuerDeactivateApi.as_view(),
        name="trusted-issuer-deactivate",
    ),
    path(
        "trusted-issuers/<str:name>/reactivate",
        apis.TrustedIssuerReactivateApi.as_view(),
        name="trusted-issuer-reactivate",
    ),
    # A subject may be a URL or hold slashes (some IdPs' client ids): the rest of the path.
    path(
        "trusted-issuers/<str:name>/bindings/<path:subject>",
        apis.BindingDetailApi.as_view(),
        name="trusted-issuer-binding",
    ),
]
