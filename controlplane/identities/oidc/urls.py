"""/oidc/authenticate/ and /oidc/callback/ (the redirect URI to register at the provider)."""

from django.urls import path

from controlplane.identities.oidc.views import OidcCallbackView, OidcSignInView

app_name = "oidc"

urlpatterns = [
    path("authenticate/", OidcSignInView.as_view(), name="authenticate"),
    path("callback/", OidcCallbackView.as_view(), name="callback"),
]
