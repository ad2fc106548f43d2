"""Reads for resources."""

from __future__ import annotations

from django.db.models import QuerySet

from controlplane.agents.models import Agent
from controlplane.crypto import decrypt
from controlplane.resources.models import Resource


def resources_list() -> QuerySet[Resource]:
    """All resources by name."""
    return Resource.objects.select_related("agent").order_by("name")


def resource_get(*, name: str) -> Resource:
    """The resource called ``name``; raises Resource.DoesNotExist."""
    return resources_list().get(name=name)


def resources_served_by(*, agent: Agent) -> QuerySet[Resource]:
    """The resources ``agent`` serves."""
    return resources_list().filter(agent=agent)


def resource_upstream_password(*, resource: Resource) -> str:
    """The decrypted upstream password; only agent snapshots need it."""
    return decrypt(resource.upstream_password_ciphertext)
