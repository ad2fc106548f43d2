"""Fixtures for masking-policy tests: a quick way to write a policy, and groups."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group

from controlplane.identities.models import User
from controlplane.masking.models import MaskingPolicy
from controlplane.masking.services import MaskingPolicySpec, masking_policy_create


def policy(name: str, actor: User | None = None, **fields: Any) -> MaskingPolicy:
    """Create the masking policy ``name`` with ``fields`` of MaskingPolicySpec."""
    return masking_policy_create(actor=actor, name=name, spec=MaskingPolicySpec(**fields))


def join(user: User, group: str) -> None:
    user.groups.add(Group.objects.get_or_create(name=group)[0])
