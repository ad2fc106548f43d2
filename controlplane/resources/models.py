"""Resources: the upstream targets an agent serves."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from controlplane.resources.protocols import protocol_choices, protocol_speaks_http
from dataplane.contract import HttpSettings, http_settings_from_dict

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


def validate_http_settings(value: Any) -> None:
    """An http settings document the agent can read (the contract's own reader), with each
    value of its setting's JSON type: a reader that coerces would take "false" for true."""
    if not isinstance(value, dict):
        raise ValidationError("http settings must be a JSON object")
    defaults = HttpSettings()
    for key, given in value.items():
        wanted = _json_type(getattr(defaults, key, None))
        if wanted is not None and not _is_json_type(given, wanted):
            raise ValidationError(f"http setting {key!r} must be a {wanted.__name__}")
    try:
        http_settings_from_dict(value)
    except (ValueError, TypeError) as exc:
        raise ValidationError(str(exc)) from None


def _json_type(default: object) -> type | None:
    if isinstance(default, tuple):
        return list
    if isinstance(default, str):  # the enums' values are str subclasses
        return str
    return type(default) if default is not None else None


def _is_json_type(value: object, wanted: type) -> bool:
    if wanted is bool or isinstance(value, bool):
        return isinstance(value, bool) and wanted is bool
    if wanted is float:
        return isinstance(value, int | float)
    return isinstance(value, wanted)


class Resource(models.Model):
    """An upstream: a PostgreSQL database (clients name it as their dbname) or an HTTP or
    LLM API (clients call it through the agent's HTTP listener). The agent connects upstream
    with credentials the client never sees."""

    class Tls(models.TextChoices):
        DISABLE = "disable", "Disable"
        PREFER = "prefer", "Prefer"
        REQUIRE = "require", "Require"

    # 63: the longest identifier PostgreSQL accepts, and clients send this as dbname.
    name = models.SlugField(max_length=63, unique=True)
    protocol = models.CharField(max_length=32, choices=protocol_choices)
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(65535)])
    # PostgreSQL only (required there, see clean()); http and llm resources leave it blank.
    database = models.CharField(max_length=63, blank=True)
    # http/llm: the basic-auth user or OAuth client id; blank for auth "none" or "header".
    upstream_user = models.CharField(max_length=63, blank=True)
    # Fernet ciphertext (controlplane.crypto); read it through resource_upstream_password.
    # http/llm: the API key, basic password or OAuth client secret.
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
    # http and llm resources: the contract's HttpSettings document (scheme, base path, auth,
    # allow/deny routes, budgets, llm_api, prompt privacy ...); {} for PostgreSQL.
    http_settings = models.JSONField(default=dict, blank=True)
    agent = models.ForeignKey("agents.Agent", on_delete=models.PROTECT, related_name="resources")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    @property
    def speaks_http(self) -> bool:
        """True for http and llm resources (configured by their http settings)."""
        return protocol_speaks_http(self.protocol)

    def clean(self) -> None:
        if self.speaks_http:
            self._clean_http()
        else:
            self._clean_database()
        names = {level["name"] for level in self.access_levels if isinstance(level, dict)}
        if self.default_access_level and self.default_access_level not in names:
            raise ValidationError(
                {"default_access_level": f"no access level named {self.default_access_level!r}"}
            )
        if self.credential_mode == self.CredentialMode.EPHEMERAL and not names:
            raise ValidationError(
                {"access_levels": "ephemeral credentials need at least one access level"}
            )

    def _clean_database(self) -> None:
        errors = {
            name: "a PostgreSQL resource needs this"
            for name in ("database", "upstream_user")
            if not getattr(self, name)
        }
        if self.http_settings:
            errors["http_settings"] = "only http and llm resources have http settings"
        if errors:
            raise ValidationError(errors)

    def _clean_http(self) -> None:
        try:
            validate_http_settings(self.http_settings)
        except ValidationError as exc:
            raise ValidationError({"http_settings": exc.messages}) from None
        llm_api = self.http_settings.get("llm_api", "")
        if self.protocol == "llm" and not llm_api:
            raise ValidationError({"http_settings": "an llm resource needs llm_api"})
        if self.protocol != "llm" and llm_api:
            raise ValidationError({"http_settings": "llm_api is for llm resources only"})
        if self.credential_mode == self.CredentialMode.EPHEMERAL:
            raise ValidationError(
                {"credential_mode": "ephemeral credentials are for PostgreSQL resources"}
            )

    def __str__(self) -> str:
        return self.name
