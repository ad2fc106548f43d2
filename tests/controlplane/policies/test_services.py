"""Policies: set whole and audited, validated against the resource's access levels; the
selectors that decide who may request, who may approve, and what is auto-approved."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError

from controlplane.audit.models import AuditEvent
from controlplane.identities.models import User
from controlplane.policies.models import Policy
from controlplane.policies.selectors import (
    auto_approval_rule_matching,
    may_approve,
    may_request,
    policy_for,
)
from controlplane.policies.services import (
    AutoApprovalRuleSpec,
    incident_declare,
    incident_resolve,
    policy_set,
)
from controlplane.resources.models import Resource
from tests.controlplane.access.conftest import appdb_spec, with_levels


def test_setting_a_policy_creates_then_replaces_it_and_audits_before_and_after(
    bob: User, agent_smith: User, appdb: Resource
) -> None:
    policy, created = policy_set(
        actor=bob, resource=with_levels(appdb), spec=appdb_spec(agent_smith)
    )
    assert created and policy_for(resource=appdb) == policy
    stricter = appdb_spec(agent_smith, min_approvals=2, auto_approvals=[])
    _, created = policy_set(actor=bob, resource=appdb, spec=stricter)
    assert not created
    policy.refresh_from_db()
    assert policy.min_approvals == 2 and not policy.auto_approvals.exists()
    updated = AuditEvent.objects.get(action="policy.updated")
    assert updated.actor_name == "bob"
    before, after = updated.payload["before"], updated.payload["after"]
    assert (before["min_approvals"], after["min_approvals"]) == (1, 2)
    assert after["approver_groups"] == ["dba"]
    assert AuditEvent.objects.filter(action="policy.created").count() == 1


def _rule(**fields: object) -> list[AutoApprovalRuleSpec]:
    return [AutoApprovalRuleSpec(**{"max_duration": timedelta(minutes=1), **fields})]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"min_approvals": 0}, "min_approvals"),
        ({"max_duration": timedelta(0)}, "max_duration"),
        ({"access_levels": ["superuser"], "default_access_level": "superuser"}, "access_levels"),
        (
            {"default_access_level": "read-write", "access_levels": ["read-only"]},
            "default_access_level",
        ),
        ({"default_access_level": ""}, "default_access_level"),
        (
            {"auto_approvals": _rule(group="dba", max_duration=timedelta(days=1))},
            "auto_approvals[0]",
        ),
        ({"auto_approvals": _rule(group="dba", scope="per-row")}, "auto_approvals[0]"),
        ({"auto_approvals": _rule()}, "auto_approvals[0]"),
    ],
)
def test_a_bad_policy_is_refused_and_nothing_is_stored(
    bob: User, agent_smith: User, appdb: Resource, changes: dict, field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        policy_set(actor=bob, resource=with_levels(appdb), spec=appdb_spec(agent_smith, **changes))
    assert field in refused.value.message_dict
    assert not Policy.objects.exists() and not AuditEvent.objects.filter(
        action__startswith="policy"
    )


def test_people_are_named_as_requesters_by_group_not_one_by_one(
    bob: User, alice: User, agent_smith: User, appdb: Resource
) -> None:
    spec = appdb_spec(agent_smith, requester_service_accounts=[alice])
    with pytest.raises(ValidationError, match="not a service account"):
        policy_set(actor=bob, resource=with_levels(appdb), spec=spec)


def test_who_may_request_and_who_may_approve(
    appdb_policy: Policy, developer_alice: User, erin: User, bob: User, carol: User,
    agent_smith: User,
) -> None:  # fmt: skip
    def requesters(*users: User) -> list[bool]:
        return [may_request(identity=user, policy=appdb_policy) for user in users]

    def approvers(*users: User | None) -> list[bool]:
        return [may_approve(identity=user, policy=appdb_policy) for user in users]

    assert requesters(developer_alice, agent_smith, carol, erin) == [True, True, False, False]
    # Administrators always approve; service accounts never do.
    assert approvers(erin, bob) == [True, True]
    assert approvers(carol, developer_alice, agent_smith, None) == [False] * 4


def test_a_disabled_approver_approves_nothing(appdb_policy: Policy, erin: User) -> None:
    User.objects.filter(pk=erin.pk).update(is_active=False)
    erin.refresh_from_db()
    assert not may_approve(identity=erin, policy=appdb_policy)


def test_auto_approval_matches_identity_duration_and_level(
    appdb_policy: Policy, developer_alice: User, agent_smith: User
) -> None:
    def match(who: User, minutes: int, level: str = "read-only") -> bool:
        rule = auto_approval_rule_matching(
            identity=who,
            policy=appdb_policy,
            duration=timedelta(minutes=minutes),
            access_level=level,
        )
        return rule is not None

    assert match(agent_smith, 15)
    assert not match(agent_smith, 16)
    assert not match(agent_smith, 5, "read-write")
    assert not match(developer_alice, 5)


def test_one_incident_is_open_at_a_time_and_both_ends_are_audited(bob: User) -> None:
    incident_declare(actor=bob, reason="INC-7: checkout down")
    with pytest.raises(ValidationError, match="already open"):
        incident_declare(actor=bob, reason="INC-8")
    assert incident_resolve(actor=bob, reason="fixed") is not None
    assert incident_resolve(actor=bob) is None
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions[-2:] == ["incident.declared", "incident.resolved"]
