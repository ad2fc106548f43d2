"""Django admin: grants are listed read-only (grant_create and grant_revoke write the audit
log and push to agents; an edit here would do neither)."""

from django.contrib import admin

from controlplane.access.models import Grant
from controlplane.readonly_admin import ReadOnlyModelAdmin


@admin.register(Grant)
class GrantAdmin(ReadOnlyModelAdmin):
    list_display = ("identity", "resource", "created_at", "expires_at", "revoked_at", "created_by")
    list_filter = ("resource",)
    search_fields = ("identity__username", "resource__name", "reason")
