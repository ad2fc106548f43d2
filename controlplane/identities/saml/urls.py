"""/saml/metadata/ (register it at the IdP), /saml/login/ and /saml/acs/."""

from django.urls import path

from controlplane.identities.saml import views

app_name = "saml"

urlpatterns = [
    path("metadata/", views.metadata, name="metadata"),
    path("login/", views.login, name="login"),
    path("acs/", views.assertion_consumer_service, name="acs"),
]
