"""Django admin: the audit log is read-only everywhere."""

from django.contrib import admin

from controlplane.audit.models import AuditEvent, Checkpoint, Cosignature, LogKey
from controlplane.readonly_admin import ReadOnlyModelAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyModelAdmin):
    list_display = (
        "seq",
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


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyModelAdmin):
    list_display = ("size", "signed_at", "key_id")
    # The signed note as text; the raw root hash bytes mean nothing on a page.
    exclude = ("root_hash",)


@admin.register(Cosignature)
class CosignatureAdmin(ReadOnlyModelAdmin):
    list_display = ("checkpoint", "witness", "cosigned_at", "received_at")


@admin.register(LogKey)
class LogKeyAdmin(ReadOnlyModelAdmin):
    list_display = ("key_id", "name", "source", "created_at", "retired_at")
    exclude = ("private_key_ciphertext",)
