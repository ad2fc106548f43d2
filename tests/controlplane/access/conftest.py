"""Policy fixtures for the request/approval tests.

alice is in "developers" (requesters of appdb); erin and frank are in "dba" (approvers,
not administrators); bob is an administrator (administrators may approve too); carol, the
auditor, holds no role in the policy; agent-smith may request and is auto-approved for
up to 15 minutes of read-only.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group

from controlplane.identities.models import User
from controlplane.policies.models import Policy
from controlplane.policies.services import AutoApprovalRuleSpec, PolicySpec, policy_set
from controlplane.resources.models import Resource

HOUR = timedelta(hours=1)


def member(user: User, group: str) -> User:
    user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


@pytest.fixture
def developer_alice(alice: User) -> User:
    return member(alice, "developers")


@pytest.fixture
def erin(db: None) -> User:
    return member(User.objects.create_user(username="erin"), "dba")


@pytest.fixture
def frank(db: None) -> User:
    return member(User.objects.create_user(username="frank"), "dba")


def appdb_spec(agent_smith: User, **changes: object) -> PolicySpec:
    fields: dict[str, object] = {
        "max_duration": HOUR,
        "requester_groups": ["developers"],
        "requester_service_accounts": [agent_smith],
        "approver_groups": ["dba"],
        "access_levels": ["read-only", "read-write"],
        "default_access_level": "read-only",
        "auto_approvals": [
            AutoApprovalRuleSpec(service_account=agent_smith, max_duration=timedelta(minutes=15))
        ],
        **changes,
    }
    return PolicySpec(**fields)  # type: ignore[arg-type]


LEVELS = [
    {"name": "read-only", "upstream_role": "app_reader"},
    {"name": "read-write", "upstream_role": "app_writer"},
]


def with_levels(resource: Resource) -> Resource:
    """``resource`` defining the read-only and read-write access levels."""
    Resource.objects.filter(pk=resource.pk).update(access_levels=LEVELS)
    resource.refresh_from_db()
    return resource


@pytest.fixture
def appdb_policy(
    bob: User, developer_alice: User, erin: User, agent_smith: User, appdb: Resource
) -> Policy:
    policy, _ = policy_set(actor=bob, resource=with_levels(appdb), spec=appdb_spec(agent_smith))
    return policy
