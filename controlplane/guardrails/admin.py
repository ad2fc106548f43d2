"""Django admin: guardrail policies are listed read-only (the services write the audit log
and push agents new snapshots; an edit here would do neither). Statement holds are not
registered: their exact texts are for the approvers' console only."""

from django.contrib import admin

from controlplane.guardrails.models import GuardrailPolicy
from controlplane.readonly_admin import ReadOnlyModelAdmin


@admin.register(GuardrailPolicy)
class GuardrailPolicyAdmin(ReadOnlyModelAdmin):
    list_display = ("name", "resource", "applies_to", "priority", "enabled", "hold_timeout_s")
    list_filter = ("enabled", "applies_to", "resource")
    search_fields = ("name", "description")
