"""Django admin: policies are listed read-only (policy_set writes the audit log; an edit
here would not)."""

from django.contrib import admin

from controlplane.policies.models import Incident, Policy
from controlplane.readonly_admin import ReadOnlyModelAdmin


@admin.register(Policy)
class PolicyAdmin(ReadOnlyModelAdmin):
    list_display = ("resource", "min_approvals", "max_duration_seconds", "updated_at")
    search_fields = ("resource__name",)


@admin.register(Incident)
class IncidentAdmin(ReadOnlyModelAdmin):
    list_display = ("declared_at", "reason", "declared_by", "resolved_at")
