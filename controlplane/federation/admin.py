"""Django admin: trusted issuers and bindings are read-only there (services audit them)."""

from django.contrib import admin

from controlplane.federation.models import ServiceAccountBinding, TrustedIssuer
from controlplane.readonly_admin import ReadOnlyModelAdmin


@admin.register(TrustedIssuer)
class TrustedIssuerAdmin(ReadOnlyModelAdmin):
    list_display = ("name", "issuer", "audience", "is_active", "created_at")
    exclude = ("introspection_client_secret_ciphertext",)


@admin.register(ServiceAccountBinding)
class ServiceAccountBindingAdmin(ReadOnlyModelAdmin):
    list_display = ("issuer", "subject", "service_account", "created_at")
    search_fields = ("subject", "service_account__username")
