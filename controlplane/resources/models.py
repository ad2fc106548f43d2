"""Resources: the upstream targets an agent serves."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from controlplane.resources.protocols import protocol_choices

# An access level's name: a slug, as grants and policies refer to it.
ACCESS_LEVEL_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
# The upstream role behind a level: a plain PostgreSQL identifier (the agent quotes it anyway).
UPSTREAM_ROLE = re.compile(r"[A-Za-z_][A-Za-z0-9_$]{0,62}")


def validate_access_levels(value: Any) -> None:
    """A list of {"name": slug, "upstream_role": identifier}, names unique."""
    if not isinstance(value, list):
        raise ValidationError("access levels must be a list")
    names: set[str] = set()
    for level in value:
        if not isinstance(level, dict) or set(level) != {"name", "upstream_role"}:
            raise ValidationError('each access level is {"name": ..., "upstream_role": ...}')
        name, role = level["name"], level["upstream_role"]
        if not isinstance(name, str) or not ACCESS_LEVEL_NAME.fullmatch(name):
            raise ValidationError(f"access level name {name!r} is not a lowercase slug")
        if not isinstance(role, str) or not UPSTREAM_ROLE.fullmatch(role):
            raise ValidationError(f"upstream role {role!r} is not a valid PostgreSQL identifier")
        if name in names:
            raise ValidationError(f"access level {name!r} appears twice")
        names.add(name)


class Resource(models.Model):
    """An upstream (a PostgreSQL database for now). Clients name it as their dbname; the
    agent connects upstream with credentials the client never sees."""

    class Tls(models.TextChoices):
        DISABLE = "disable", "Disable"
        PREFER = "prefer", "Prefer"
        REQUIRE = "require", "Require"

    # 63: the longest identifier PostgreSQL accepts, and clients send this as dbname.
    name = models.SlugField(max_length=63, unique=True)
    protocol = models.CharField(max_length=32, choices=protocol_choices)
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(65535)])
    database = models.CharField(max_length=63)
    upstream_user = models.CharField(max_length=63)
    # Fernet ciphertext (controlplane.crypto); read it through resource_upstream_password.
    upstream_password_ciphertext = models.TextField()
    upstream_tls = models.CharField(max_length=16, choices=Tls.choices, default=Tls.PREFER)

    class CredentialMode(models.TextChoices):
        STATIC = "static", "Static (sessions log in as the upstream user)"
        EPHEMERAL = "ephemeral", "Ephemeral (a login role per session, inside its access level)"

    credential_mode = models.CharField(
        max_length=16, choices=CredentialMode.choices, default=CredentialMode.STATIC
    )
    # [{"name": "read-only", "upstream_role": "gh_readonly"}, ...]
    access_levels = models.JSONField(default=list, blank=True, validators=[validate_access_levels])
    default_access_level = models.CharField(max_length=63, blank=True, default="")
    agent = models.ForeignKey("agents.Agent", on_delete=models.PROTECT, related_name="resources")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def clean(self) -> None:
        names = {level["name"] for level in self.access_levels if isinstance(level, dict)}
        if self.default_access_level and self.default_access_level not in names:
            raise ValidationError(
                {"default_access_level": f"no access level named {self.default_access_level!r}"}
            )
        if self.credential_mode == self.CredentialMode.EPHEMERAL and not names:
            raise ValidationError(
                {"access_levels": "ephemeral credentials need at least one access level"}
            )

    def __str__(self) -> str:
        return self.name
