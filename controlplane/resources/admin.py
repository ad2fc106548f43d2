"""Django admin: resources are listed read-only (created through resource_create, which
encrypts the password and writes the audit log); the ciphertext is never shown."""

from django.contrib import admin

from controlplane.readonly_admin import ReadOnlyModelAdmin
from controlplane.resources.models import Resource


@admin.register(Resource)
class ResourceAdmin(ReadOnlyModelAdmin):
    list_display = ("name", "protocol", "host", "port", "database", "agent", "upstream_tls")
    list_filter = ("protocol", "agent")
    search_fields = ("name", "host", "database")
    exclude = ("upstream_password_ciphertext",)
