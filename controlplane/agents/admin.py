"""Django admin: agents are listed read-only (registration goes through agent_register)."""

from django.contrib import admin

from controlplane.agents.models import Agent
from controlplane.readonly_admin import ReadOnlyModelAdmin


@admin.register(Agent)
class AgentAdmin(ReadOnlyModelAdmin):
    list_display = (
        "name",
        "connected",
        "last_seen_at",
        "version",
        "config_revision_acked",
        "spool_backlog",
    )
    search_fields = ("name",)
    exclude = ("token_hash",)
