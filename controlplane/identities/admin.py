"""Django admin: identities are editable; API keys and signing keys are read-only there
(they are created and revoked through services, which write the audit log)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from controlplane.identities.models import ApiKey, SigningKey, User
from controlplane.readonly_admin import ReadOnlyModelAdmin


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "kind", "email", "is_staff", "is_active", "date_joined")
    list_filter = ("kind", "is_staff", "is_active", "groups")
    fieldsets = (*DjangoUserAdmin.fieldsets, ("Gatehouse", {"fields": ("kind",)}))


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyModelAdmin):
    list_display = ("prefix", "user", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("prefix", "user__username")
    exclude = ("hashed_secret",)


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnlyModelAdmin):
    list_display = ("kid", "created_at", "retired_at")
    exclude = ("private_key_ciphertext",)
