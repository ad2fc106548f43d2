"""Versioned formats: today's documents round-trip, and older versions are upgraded."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

import pytest

from dataplane.contract import (
    AUDIT_EVENT_FORMAT,
    SNAPSHOT_FORMAT,
    Actor,
    AuditEvent,
    ContractError,
    CustomPattern,
    GrantScope,
    GrantSpec,
    GuardrailProfile,
    MaskingFailure,
    MaskingProfile,
    ResourceSpec,
    Snapshot,
)
from dataplane.contract.snapshot import AccessLevel

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def snapshot() -> Snapshot:
    resource = ResourceSpec(
        name="orders", protocol="postgres", host="db", port=5432, database="orders",
        upstream_user="gatehouse", upstream_password="pw", credential_mode="ephemeral",
        access_levels=(AccessLevel("read-only", "orders_ro"),
                       AccessLevel("read-write", "orders_rw")),
    )  # fmt: skip
    grant = GrantSpec(
        id="g1",
        identity="u1",
        resource="orders",
        expires_at=NOW,
        starts_at=NOW - timedelta(minutes=5),
        access_level="read-only",
    )
    return Snapshot(
        revision=7,
        agent_id="a1",
        agent_name="edge",
        token_keys=(),
        resources=(resource,),
        grants=(grant,),
    )


def test_a_snapshot_round_trips_with_levels_modes_and_grant_windows() -> None:
    assert Snapshot.from_dict(snapshot().to_dict()) == snapshot()


def test_a_format_1_snapshot_means_static_credentials_and_started_grants() -> None:
    document = snapshot().to_dict()
    document["format"] = 1
    for resource in document["resources"]:
        del resource["credential_mode"], resource["access_levels"]
    for grant in document["grants"]:
        del grant["starts_at"], grant["access_level"]
    upgraded = Snapshot.from_dict(document)
    assert upgraded.format == SNAPSHOT_FORMAT
    assert upgraded.resources[0].credential_mode == "static"
    assert upgraded.resources[0].access_levels == ()
    assert upgraded.grants[0].starts_at is None and upgraded.grants[0].access_level == ""


def test_a_snapshot_carries_each_grant_scope() -> None:
    document = snapshot().to_dict()
    document["grants"] = [
        {**document["grants"][0], "id": scope.value, "scope": scope.value} for scope in GrantScope
    ]
    grants = Snapshot.from_dict(document).grants
    assert [(g.id, g.scope, g.single_use) for g in grants] == [
        ("duration", GrantScope.DURATION, False),
        ("session", GrantScope.SESSION, True),
        ("call", GrantScope.CALL, True),
    ]
    assert Snapshot.from_dict(Snapshot.from_dict(document).to_dict()).grants == grants


def test_a_format_2_snapshot_means_every_grant_lasts_its_whole_duration() -> None:
    document = snapshot().to_dict()
    document["format"] = 2
    for grant in document["grants"]:
        del grant["scope"]
    upgraded = Snapshot.from_dict(document)
    assert upgraded.format == SNAPSHOT_FORMAT
    assert upgraded.grants[0].scope == GrantScope.DURATION
    assert not upgraded.grants[0].single_use


def test_a_format_3_snapshot_means_no_masking() -> None:
    document = snapshot().to_dict()
    document["format"] = 3
    del document["masking_profiles"], document["masking_key"]
    for grant in document["grants"]:
        del grant["masking"]
    upgraded = Snapshot.from_dict(document)
    assert upgraded.format == SNAPSHOT_FORMAT == 6
    assert upgraded.masking_profiles == () and upgraded.grants[0].masking == ""


def test_masking_profiles_round_trip_and_grants_name_them() -> None:
    profile = MaskingProfile(
        name="ai-agents",
        default_strategy="redact",
        strategies={"CREDIT_CARD": "partial", "EMAIL_ADDRESS": "hash"},
        column_rules={"ssn": "US_SSN"},
        custom_patterns=(CustomPattern("employee", "EMPLOYEE_ID", r"E-[0-9]{6}"),),
        on_failure=MaskingFailure.ERROR,
    )
    document = snapshot().to_dict()
    document["masking_profiles"] = [asdict(profile)]
    document["masking_key"] = "00" * 32
    document["grants"][0]["masking"] = "ai-agents"
    loaded = Snapshot.from_dict(json.loads(json.dumps(document)))
    assert loaded.masking_profile("ai-agents") == profile
    assert loaded.masking_profile("") is None
    assert loaded.grants[0].masking == "ai-agents"
    assert "masking_key" not in repr(loaded) and "00" * 32 not in repr(loaded)


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["grants"][0].update(masking="nobody-defined-this"),
        lambda d: d["masking_profiles"].append({"name": "x", "default_strategy": "scramble"}),
        lambda d: d["masking_profiles"].append({"name": "x", "on_failure": "pass-through"}),
        # a keyed strategy with no key would make guessable pseudonyms
        lambda d: d["masking_profiles"].append({"name": "x", "default_strategy": "hash"}),
    ],
)
def test_masking_the_agent_cannot_honour_is_refused(change) -> None:
    document = snapshot().to_dict()
    change(document)
    with pytest.raises(ContractError):
        Snapshot.from_dict(document)


def test_a_grant_scope_the_agent_does_not_know_is_refused_not_read_as_unlimited() -> None:
    document = snapshot().to_dict()
    document["grants"][0]["scope"] = "per-row"
    with pytest.raises(ContractError):
        Snapshot.from_dict(document)


def test_an_unknown_snapshot_format_is_refused() -> None:
    with pytest.raises(ContractError):
        Snapshot.from_dict({**snapshot().to_dict(), "format": 99})


def test_an_audit_event_carries_who_the_agent_acts_for() -> None:
    alice = Actor(sub="u-alice", kind="user", name="alice")
    event = AuditEvent(
        seq=3,
        time="2026-11-26T12:00:00.000000Z",
        action="statement",
        actor=Actor("sa-1", "service_account", "agent-smith", on_behalf_of=alice),
        resource="orders",
        protocol="postgres",
        session="s1",
        payload={},
    )
    document = event.to_dict()
    assert document["format"] == AUDIT_EVENT_FORMAT
    assert document["actor"]["on_behalf_of"] == {
        "sub": "u-alice",
        "kind": "user",
        "name": "alice",
        "on_behalf_of": None,
    }
    assert AuditEvent.from_dict(document) == event


def test_a_format_1_audit_event_reads_as_acting_for_no_one() -> None:
    document = {
        "format": 1,
        "seq": 1,
        "time": "t",
        "action": "statement",
        "actor": {"sub": "s", "kind": "service_account", "name": "n"},
        "resource": "r",
        "protocol": "postgres",
        "session": "x",
        "payload": {},
    }
    assert AuditEvent.from_dict(document).actor.on_behalf_of is None


def test_a_format_4_snapshot_means_no_guardrails() -> None:
    document = snapshot().to_dict()
    document["format"] = 4
    del document["guardrail_profiles"]
    for grant in document["grants"]:
        del grant["guardrails"]
    upgraded = Snapshot.from_dict(document)
    assert upgraded.guardrail_profiles == () and upgraded.grants[0].guardrails == ""


def test_guardrail_profiles_round_trip_and_unknown_ones_are_refused() -> None:
    document = snapshot().to_dict()
    policy = {"format_version": 1, "rules": [{"kind": "read_only", "name": "ro"}]}
    document["guardrail_profiles"] = [{"name": "ro", "policy": policy, "hold_timeout_s": 60}]
    document["grants"][0]["guardrails"] = "ro"
    loaded = Snapshot.from_dict(json.loads(json.dumps(document)))
    assert loaded.guardrail_profile("ro") == GuardrailProfile("ro", policy, 60)
    assert Snapshot.from_dict(loaded.to_dict()) == loaded
    document["grants"][0]["guardrails"] = "nobody-defined-this"
    with pytest.raises(ContractError):
        Snapshot.from_dict(document)


def test_a_format_5_snapshot_has_no_http_resources():
    document = {
        "format": 5,
        "revision": 3,
        "agent_id": "a",
        "agent_name": "a",
        "token_keys": [],
        "resources": [
            {
                "name": "orders",
                "protocol": "postgres",
                "host": "127.0.0.1",
                "port": 5432,
                "database": "orders",
                "upstream_user": "u",
                "upstream_password": "p",
            }
        ],
        "grants": [],
        "token_issuer": "gatehouse",
        "token_audience": "gatehouse-agent",
        "masking_profiles": [],
        "masking_key": "",
        "guardrail_profiles": [],
    }
    snapshot = Snapshot.from_dict(document)
    assert snapshot.format == SNAPSHOT_FORMAT == 6
    assert snapshot.resources[0].http is None


def test_http_settings_round_trip_through_a_snapshot():
    from dataplane.contract import HttpRoute, http_settings_from_dict

    settings = http_settings_from_dict(
        {
            "llm_api": "openai",
            "auth": "header",
            "prompt_privacy": "reversible",
            "deny": [{"path": "/v1/files*", "methods": ["post", "delete"]}],
            "budget_tokens": 1000,
        }
    )
    assert settings.deny == (HttpRoute(path="/v1/files*", methods=("POST", "DELETE")),)
    resource = ResourceSpec(
        name="llm",
        protocol="llm",
        host="127.0.0.1",
        port=8443,
        database="",
        upstream_user="",
        upstream_password="sk-secret",
        http=settings,
    )
    snapshot = Snapshot(
        revision=1, agent_id="a", agent_name="a", token_keys=(), resources=(resource,), grants=()
    )
    import json

    again = Snapshot.from_dict(json.loads(json.dumps(snapshot.to_dict())))
    assert again.resources[0].http == settings


@pytest.mark.parametrize(
    "document",
    [
        {"scheme": "ftp"},
        {"auth": "magic"},
        {"prompt_privacy": "maybe"},
        {"llm_api": "cohere"},
        {"auth": "oauth_client_credentials"},
        {"max_request_bytes": 0},
        {"timeout_s": 0},
        {"allow": [{"path": 3}]},
        {"surprise": True},
    ],
)
def test_http_settings_an_agent_cannot_read_are_refused(document):
    from dataplane.contract import http_settings_from_dict

    with pytest.raises(ValueError):
        http_settings_from_dict(document)
