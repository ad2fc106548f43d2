"""Writes for resources."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from controlplane.agents.models import Agent
from controlplane.agents.revision import config_revision_bump
from controlplane.audit.actions import ControlPlaneAction
from controlplane.audit.services import audit_event_record
from controlplane.crypto import decrypt, encrypt
from controlplane.identities.models import User
from controlplane.resources.models import Resource


def resource_create(
    *,
    actor: User | None,
    name: str,
    protocol: str,
    host: str,
    port: int,
    agent: Agent,
    database: str = "",
    upstream_user: str = "",
    upstream_password: str = "",
    upstream_tls: str = Resource.Tls.PREFER,
    credential_mode: str = Resource.CredentialMode.STATIC,
    access_levels: Sequence[Mapping[str, str]] = (),
    default_access_level: str = "",
    http_settings: Mapping[str, Any] | None = None,
) -> Resource:
    """Register a resource served by ``agent``. The upstream password (for http and llm
    resources: the API key, basic password or OAuth client secret) is encrypted before it
    is stored and appears in no response, log line or audit payload. In ephemeral
    credential mode the upstream user only creates a login role per session, inside the
    session's access level (an entry of ``access_levels``). ``http_settings`` (http and llm
    resources only) is the contract's HttpSettings document."""
    resource = Resource(
        name=name,
        protocol=protocol,
        host=host,
        port=port,
        database=database,
        upstream_user=upstream_user,
        upstream_password_ciphertext=encrypt(upstream_password),
        upstream_tls=upstream_tls,
        credential_mode=credential_mode,
        access_levels=[dict(level) for level in access_levels],
        default_access_level=default_access_level,
        http_settings=dict(http_settings or {}),
        agent=agent,
    )
    with transaction.atomic():
        resource.full_clean()
        resource.save()
        config_revision_bump(agents=[agent])
        audit_event_record(
            actor=actor,
            action=ControlPlaneAction.RESOURCE_CREATED,
            resource=resource.name,
            payload=_resource_payload(resource),
        )
    return resource


def _resource_payload(resource: Resource) -> dict[str, object]:
    return {
        "protocol": resource.protocol,
        "host": resource.host,
        "port": resource.port,
        "database": resource.database,
        "upstream_user": resource.upstream_user,
        "upstream_tls": resource.upstream_tls,
        "credential_mode": resource.credential_mode,
        "access_levels": resource.access_levels,
        "default_access_level": resource.default_access_level,
        # Holds no secret: the credential is the upstream password, kept out of it.
        "http_settings": resource.http_settings,
        "agent": resource.agent.name,
    }


UPDATABLE_FIELDS = (
    "protocol",
    "host",
    "port",
    "database",
    "upstream_user",
    "upstream_tls",
    "credential_mode",
    "access_levels",
    "default_access_level",
    "http_settings",
    "agent",
)


def resource_update(*, actor: User | None, resource: Resource, data: Mapping[str, Any]) -> Resource:
    """Change a resource's upstream settings; ``data`` holds only the fields to change
    (any of UPDATABLE_FIELDS and ``upstream_password``). The name is the resource's
    identity and cannot change. Both the old and the new serving agent are told."""
    _update_check(resource, data)
    with transaction.atomic():
        resource = Resource.objects.select_for_update().select_related("agent").get(pk=resource.pk)
        previous_agent = resource.agent
        changed = _apply(resource, data)
        if not changed:
            return resource
        resource.full_clean()
        resource.save()
        config_revision_bump(agents=[previous_agent, resource.agent])
        audit_event_record(
            actor=actor,
            action=ControlPlaneAction.RESOURCE_UPDATED,
            resource=resource.name,
            payload={**_resource_payload(resource), "changed": changed},
        )
    return resource


def _update_check(resource: Resource, data: Mapping[str, Any]) -> None:
    if "name" in data and data["name"] != resource.name:
        raise ValidationError({"name": ["a resource's name cannot change"]})
    unknown = set(data) - {*UPDATABLE_FIELDS, "upstream_password", "name"}
    if unknown:
        raise ValidationError(f"cannot update {', '.join(sorted(unknown))}")


def _apply(resource: Resource, data: Mapping[str, Any]) -> list[str]:
    """Set the fields in ``data`` that differ; returns their names (never their values)."""
    wanted = dict(data)
    if "access_levels" in wanted:
        wanted["access_levels"] = [dict(level) for level in wanted["access_levels"]]
    changed = [
        name
        for name in UPDATABLE_FIELDS
        if name in wanted and getattr(resource, name) != wanted[name]
    ]
    for name in changed:
        setattr(resource, name, wanted[name])
    password = data.get("upstream_password")
    if password is not None and password != decrypt(resource.upstream_password_ciphertext):
        resource.upstream_password_ciphertext = encrypt(password)
        changed.append("upstream_password")
    return changed
