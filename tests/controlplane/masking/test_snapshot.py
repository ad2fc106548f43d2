"""An agent's snapshot carries the masking profiles its grants use (only those), each
grant's profile name, and the deployment's masking key when any grant is masked."""

from __future__ import annotations

from datetime import timedelta

from django.test import override_settings

from controlplane.access.models import Grant
from controlplane.access.services import grant_create
from controlplane.agents.services import IssuedAgent
from controlplane.agents.snapshot import agent_snapshot_build
from controlplane.identities.models import User
from controlplane.masking.models import MaskingKey
from controlplane.resources.models import Resource
from dataplane.contract import CustomPattern, Snapshot
from tests.controlplane.masking.conftest import policy


def test_each_grant_names_its_profile_and_only_used_profiles_are_sent(
    bob: User, alice: User, edge: IssuedAgent, appdb: Resource, smith_on_appdb: Grant
) -> None:
    policy("ai", applies_to="service_accounts", strategies={"EMAIL_ADDRESS": "hash"})
    policy("humans", applies_to="people", resource=appdb)
    policy("unused", applies_to="people", groups=["nobody"], priority=9)
    alices = grant_create(actor=bob, identity=alice, resource=appdb, duration=timedelta(hours=1))

    snapshot = agent_snapshot_build(agent=edge.agent)

    masking = {grant.id: grant.masking for grant in snapshot.grants}
    assert masking == {str(smith_on_appdb.pk): "ai", str(alices.pk): "humans"}
    assert [profile.name for profile in snapshot.masking_profiles] == ["ai", "humans"]
    ai = snapshot.masking_profile("ai")
    assert ai is not None and ai.strategies == {"EMAIL_ADDRESS": "hash"}


def test_the_profile_carries_every_field_and_survives_the_wire(
    edge: IssuedAgent, appdb: Resource, smith_on_appdb: Grant
) -> None:
    pattern = {"name": "emp", "entity": "EMPLOYEE_ID", "regex": r"EMP-\d{6}", "context": ["id"]}
    policy(
        "full",
        default_strategy="format_preserving",
        entities=["US_SSN"],
        column_rules={"ssn": "US_SSN"},
        json_key_rules={"*.card": "CREDIT_CARD"},
        deny_list=["Falcon"],
        custom_patterns=[pattern],
        on_failure="error",
        statement_budget_ms=100,
        max_value_bytes=10,
    )
    snapshot = agent_snapshot_build(agent=edge.agent)
    received = Snapshot.from_dict(snapshot.to_dict())  # what the agent reads, checks and all

    profile = received.masking_profiles[0]
    assert profile.custom_patterns == (
        CustomPattern(name="emp", entity="EMPLOYEE_ID", regex=r"EMP-\d{6}", context=("id",)),
    )
    assert (profile.default_strategy, profile.entities, profile.deny_list) == (
        "format_preserving",
        ("US_SSN",),
        ("Falcon",),
    )
    assert (profile.on_failure, profile.statement_budget_ms, profile.max_value_bytes) == (
        "error",
        100,
        10,
    )
    assert received.grants[0].masking == "full"
    assert received.masking_key == snapshot.masking_key


def test_an_agent_without_masked_grants_gets_no_profiles_and_no_key(
    edge: IssuedAgent, appdb: Resource, smith_on_appdb: Grant
) -> None:
    policy("humans", applies_to="people")
    snapshot = agent_snapshot_build(agent=edge.agent)
    assert (snapshot.masking_profiles, snapshot.masking_key) == ((), "")
    assert snapshot.grants[0].masking == ""
    assert not MaskingKey.objects.exists()  # made on first use only


def test_the_key_is_32_random_bytes_made_once_and_the_same_for_every_agent(
    bob: User,
    agent_smith: User,
    edge: IssuedAgent,
    edge2: IssuedAgent,
    appdb: Resource,
    billingdb: Resource,
    smith_on_appdb: Grant,
) -> None:
    grant_create(actor=bob, identity=agent_smith, resource=billingdb, duration=timedelta(hours=1))
    policy("ai", applies_to="service_accounts")

    first = agent_snapshot_build(agent=edge.agent).masking_key
    assert len(bytes.fromhex(first)) == 32
    assert agent_snapshot_build(agent=edge.agent).masking_key == first
    assert agent_snapshot_build(agent=edge2.agent).masking_key == first


def test_the_stored_key_is_encrypted_at_rest(
    edge: IssuedAgent, appdb: Resource, smith_on_appdb: Grant
) -> None:
    policy("ai")
    key = agent_snapshot_build(agent=edge.agent).masking_key
    stored = MaskingKey.objects.get()
    assert key not in stored.ciphertext and key not in str(stored)


def test_a_configured_key_wins_and_nothing_is_stored(
    edge: IssuedAgent, appdb: Resource, smith_on_appdb: Grant
) -> None:
    configured = "ab" * 32
    policy("ai")
    with override_settings(GATEHOUSE_MASKING_KEY=configured):
        assert agent_snapshot_build(agent=edge.agent).masking_key == configured
    assert not MaskingKey.objects.exists()


def test_the_snapshots_repr_never_shows_the_key(
    edge: IssuedAgent, appdb: Resource, smith_on_appdb: Grant
) -> None:
    policy("ai")
    snapshot = agent_snapshot_build(agent=edge.agent)
    assert snapshot.masking_key not in repr(snapshot)
