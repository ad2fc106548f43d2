"""Django admin: masking policies are listed read-only (the services write the audit log
and push agents new snapshots; an edit here would do neither). The masking key is not
registered at all."""

from django.contrib import admin

from controlplane.masking.models import MaskingPolicy
from controlplane.readonly_admin import ReadOnlyModelAdmin


@admin.register(MaskingPolicy)
class MaskingPolicyAdmin(ReadOnlyModelAdmin):
    list_display = ("name", "resource", "applies_to", "priority", "enabled", "default_strategy")
    list_filter = ("enabled", "applies_to", "resource")
    search_fields = ("name", "description")
