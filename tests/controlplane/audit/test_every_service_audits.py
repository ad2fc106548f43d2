"""Every control-plane service writes its audit event in the same transaction as its
change: when recording fails, the change is rolled back too."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db.models import Model

from controlplane.access import services as access_services
from controlplane.access.models import Grant
from controlplane.agents import services as agent_services
from controlplane.agents.models import Agent, ConfigRevision
from controlplane.audit.models import AuditEvent
from controlplane.identities import services as identity_services
from controlplane.identities import tokens
from controlplane.identities.models import ApiKey, SigningKey, User
from controlplane.resources import services as resource_services
from controlplane.resources.models import Resource


class RecordingFailed(Exception):
    pass


def _fail(**kwargs: Any) -> None:
    raise RecordingFailed


def _state() -> list[Any]:
    """Every row a service may write, as a comparable snapshot."""
    models: list[type[Model]] = [
        User,
        ApiKey,
        SigningKey,
        Agent,
        ConfigRevision,
        Resource,
        Grant,
        AuditEvent,
    ]
    return [sorted(map(str, model.objects.values_list())) for model in models]


Case = Callable[[dict[str, Any]], Any]

CASES: dict[str, tuple[Any, Case]] = {
    "admin_create": (
        identity_services,
        lambda f: identity_services.admin_create(actor=None, username="root"),
    ),
    "service_account_create": (
        identity_services,
        lambda f: identity_services.service_account_create(actor=f["bob"], name="agent-k"),
    ),
    "api_key_create": (
        identity_services,
        lambda f: identity_services.api_key_create(actor=f["bob"], user=f["alice"]),
    ),
    "api_key_revoke": (
        identity_services,
        lambda f: identity_services.api_key_revoke(actor=f["bob"], api_key=f["alice_key"]),
    ),
    "agent_register": (
        agent_services,
        lambda f: agent_services.agent_register(actor=f["bob"], name="edge-9"),
    ),
    "agent_connected_record": (
        agent_services,
        lambda f: agent_services.agent_connected_record(agent=f["agent"]),
    ),
    "agent_disconnected_record": (
        agent_services,
        lambda f: agent_services.agent_disconnected_record(agent=f["agent"], code=1000),
    ),
    "resource_create": (
        resource_services,
        lambda f: resource_services.resource_create(
            actor=f["bob"],
            name="newdb",
            protocol="postgres",
            host="h",
            port=5432,
            database="d",
            upstream_user="u",
            upstream_password="p",
            agent=f["agent"],
        ),
    ),
    "resource_update": (
        resource_services,
        lambda f: resource_services.resource_update(
            actor=f["bob"], resource=f["appdb"], data={"port": 6432}
        ),
    ),
    "grant_create": (
        access_services,
        lambda f: access_services.grant_create(
            actor=f["bob"], identity=f["alice"], resource=f["appdb"], duration=timedelta(hours=1)
        ),
    ),
    "grant_revoke": (
        access_services,
        lambda f: access_services.grant_revoke(actor=f["bob"], grant=f["grant"]),
    ),
    "signing_key_rotate": (tokens, lambda f: tokens.signing_key_rotate(actor=f["bob"])),
    "gateway_token_mint": (
        tokens,
        lambda f: tokens.gateway_token_mint(actor=f["alice"], identity=f["alice"]),
    ),
}


@pytest.fixture
def world(
    bob: User, alice: User, appdb: Resource, smith_on_appdb: Grant, api_key_of: Any
) -> dict[str, Any]:
    tokens.signing_key_current()
    return {
        "bob": bob,
        "alice": alice,
        "alice_key": identity_services.api_key_create(actor=None, user=alice).api_key,
        "agent": appdb.agent,
        "appdb": appdb,
        "grant": smith_on_appdb,
    }


@pytest.mark.parametrize("service", sorted(CASES))
def test_a_service_whose_audit_record_fails_leaves_no_trace(
    service: str, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    module, call = CASES[service]
    before = _state()
    monkeypatch.setattr(module, "audit_event_record", _fail)
    with pytest.raises(RecordingFailed):
        call(world)
    assert _state() == before


@pytest.mark.parametrize("service", sorted(CASES))
def test_a_service_that_succeeds_records_exactly_one_event(
    service: str, world: dict[str, Any]
) -> None:
    _, call = CASES[service]
    before = AuditEvent.objects.count()
    call(world)
    # admin_create and service_account_create also issue a first API key: two events.
    expected = 2 if service in {"admin_create", "service_account_create"} else 1
    assert AuditEvent.objects.count() == before + expected
