"""set_policy replaces a resource's policy from the shell; incidents open and close."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from controlplane.identities.models import User
from controlplane.policies.selectors import incident_open, policy_for
from controlplane.resources.models import Resource
from tests.controlplane.access.conftest import with_levels


def run(*args: str) -> None:
    call_command(*args, stdout=StringIO(), stderr=StringIO())


def test_set_policy_with_an_auto_approval_rule(agent_smith: User, appdb: Resource) -> None:
    with_levels(appdb)
    run(
        "set_policy", "appdb", "--max-duration", "3600", "--requester-group", "developers",
        "--requester-service-account", "agent-smith", "--approver-group", "dba",
        "--min-approvals", "2", "--level", "read-only", "--default-level", "read-only",
        "--auto-approve", "service-account:agent-smith:900:read-only",
        "--auto-approve", "group:on-call:600:incident",
    )  # fmt: skip
    policy = policy_for(resource=appdb)
    assert policy is not None and policy.min_approvals == 2
    rules = list(policy.auto_approvals.all())
    assert [(r.subject, r.max_duration_seconds, r.only_during_incident) for r in rules] == [
        ("service-account:agent-smith", 900, False),
        ("group:on-call", 600, True),
    ]


def test_set_policy_with_session_and_call_rules(agent_smith: User, appdb: Resource) -> None:
    with_levels(appdb)
    run(
        "set_policy", "appdb", "--max-duration", "3600",
        "--requester-service-account", "agent-smith", "--level", "read-only",
        "--default-level", "read-only",
        "--auto-approve", "service-account:agent-smith:900:read-only:session",
        "--auto-approve", "group:on-call:600:call:incident",
    )  # fmt: skip
    policy = policy_for(resource=appdb)
    assert policy is not None
    rules = [(r.scope, r.access_level, r.only_during_incident) for r in policy.auto_approvals.all()]
    assert rules == [("session", "read-only", False), ("call", "", True)]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--auto-approve", "robot:x:1"), "KIND:NAME:SECONDS"),
        (("--min-approvals", "0"), "min_approvals"),
        (("--requester-service-account", "nobody"), "no identity"),
    ],
)
def test_set_policy_refuses_bad_input(
    appdb: Resource, extra: tuple[str, ...], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        run("set_policy", "appdb", "--max-duration", "3600", *extra)


def test_declare_and_resolve_an_incident(db: None) -> None:
    run("declare_incident", "--reason", "INC-7")
    assert incident_open() is not None
    run("resolve_incident")
    assert incident_open() is None
