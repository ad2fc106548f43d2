"""Django admin: the audit log is read-only everywhere."""

from django.contrib import admin

from controlplane.audit.models import AuditEvent
from controlplane.readonly_admin import ReadOnlyModelAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyModelAdmin):
    list_display = (
        "occurred_at",
        "action",
        "actor_name",
        "on_behalf_of_name",
        "resource",
        "source",
        "agent",
        "agent_seq",
    )
    list_filter = ("source", "action")
    search_fields = ("actor_name", "actor_sub", "on_behalf_of_name", "resource", "session")
    date_hierarchy = "occurred_at"
