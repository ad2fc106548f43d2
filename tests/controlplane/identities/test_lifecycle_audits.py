"""Each lifecycle service writes its audit event in the transaction of its change: when the
record fails, nothing changed (as ``tests/controlplane/audit/test_every_service_audits.py``
checks for the services that predate these)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from controlplane.access.models import Grant
from controlplane.agents import services as agent_services
from controlplane.agents.models import Agent
from controlplane.federation import services as federation_services
from controlplane.federation.models import ServiceAccountBinding, TrustedIssuer
from controlplane.identities import services as identity_services
from controlplane.identities.models import ApiKey, User


class RecordingFailed(Exception):
    pass


def _fail(**kwargs: Any) -> None:
    raise RecordingFailed


def _state() -> list[Any]:
    models = [User, ApiKey, Agent, Grant, TrustedIssuer, ServiceAccountBinding]
    return [sorted(map(str, model.objects.values_list())) for model in models]


Case = tuple[Any, Callable[[dict[str, Any]], Any]]
CASES: dict[str, Case] = {
    "trusted_issuer_deactivate": (
        federation_services,
        lambda w: federation_services.trusted_issuer_deactivate(actor=w["bob"], issuer=w["issuer"]),
    ),
    "service_account_binding_delete": (
        federation_services,
        lambda w: federation_services.service_account_binding_delete(
            actor=w["bob"], binding=w["binding"]
        ),
    ),
    "service_account_deactivate": (
        identity_services,
        lambda w: identity_services.service_account_deactivate(actor=w["bob"], account=w["smith"]),
    ),
    "agent_token_rotate": (
        agent_services,
        lambda w: agent_services.agent_token_rotate(actor=w["bob"], agent=w["agent"]),
    ),
    "agent_token_revoke": (
        agent_services,
        lambda w: agent_services.agent_token_revoke(actor=w["bob"], agent=w["agent"]),
    ),
}


@pytest.fixture
def world(bob: User, agent_smith: User, smith_on_appdb: Grant) -> dict[str, Any]:
    issuer = federation_services.trusted_issuer_create(
        actor=None,
        name="corp-idp",
        issuer="https://idp.example.test",
        audience="gatehouse",
        algorithms=["RS256"],
    )
    binding = federation_services.service_account_binding_create(
        actor=None, issuer=issuer, subject="ai-client", service_account=agent_smith
    )
    return {
        "bob": bob,
        "smith": agent_smith,
        "issuer": issuer,
        "binding": binding,
        "agent": smith_on_appdb.resource.agent,
    }


@pytest.mark.parametrize("service", sorted(CASES))
def test_a_lifecycle_change_whose_audit_record_fails_leaves_no_trace(
    service: str, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    module, call = CASES[service]
    before = _state()
    monkeypatch.setattr(module, "audit_event_record", _fail)
    with pytest.raises(RecordingFailed):
        call(world)
    assert _state() == before
