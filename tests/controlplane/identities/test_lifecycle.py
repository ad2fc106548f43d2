"""Administrators revoke API keys and deactivate service accounts. A revoked key is refused
at once; a disabled service account can no longer authenticate, mint or exchange, and its
grants end so the agents cut the sessions of tokens it already holds."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from controlplane.access.models import Grant
from controlplane.agents.snapshot import agent_snapshot_build
from controlplane.audit.models import AuditEvent
from controlplane.identities.exchange import API_KEY_TOKEN_TYPE, GRANT_TYPE
from controlplane.identities.models import ApiKey, User
from controlplane.identities.services import (
    api_key_create,
    service_account_deactivate,
    service_account_reactivate,
)
from controlplane.identities.tokens import gateway_token_mint

ClientAs = Callable[[User | None], APIClient]


def whoami(api_key: str) -> Any:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"ApiKey {api_key}")
    return api.get("/api/v1/me")


def exchange_api_key(api_key: str) -> Any:
    body = {
        "grant_type": GRANT_TYPE,
        "subject_token": api_key,
        "subject_token_type": API_KEY_TOKEN_TYPE,
    }
    return APIClient().post(
        "/api/v1/token-exchange", urlencode(body), content_type="application/x-www-form-urlencoded"
    )


@pytest.fixture
def smith_key(agent_smith: User) -> str:
    return api_key_create(actor=None, user=agent_smith).plaintext


def prefix_of(plaintext: str) -> str:
    return plaintext.split("_")[1]


def test_an_administrator_revokes_an_api_key_and_it_is_refused_at_once(
    client_as: ClientAs, bob: User, smith_key: str
) -> None:
    assert whoami(smith_key).status_code == 200
    revoked = client_as(bob).post(f"/api/v1/api-keys/{prefix_of(smith_key)}/revoke")
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert revoked.json()["identity"] == "agent-smith"
    assert whoami(smith_key).status_code == 401
    assert exchange_api_key(smith_key).status_code == 400
    event = AuditEvent.objects.get(action="api_key.revoked")
    assert event.actor_name == "bob" and event.payload["prefix"] == prefix_of(smith_key)
    assert smith_key not in str(event.payload)


def test_revoking_an_unknown_key_is_not_found_and_others_may_not_revoke(
    client_as: ClientAs, bob: User, alice: User, smith_key: str
) -> None:
    assert client_as(bob).post("/api/v1/api-keys/000000000000/revoke").status_code == 404
    assert (
        client_as(alice).post(f"/api/v1/api-keys/{prefix_of(smith_key)}/revoke").status_code == 403
    )
    assert whoami(smith_key).status_code == 200


def test_an_administrator_lists_a_service_accounts_keys_without_secrets(
    client_as: ClientAs, bob: User, smith_key: str
) -> None:
    listed = client_as(bob).get("/api/v1/service-accounts/agent-smith/api-keys")
    assert listed.status_code == 200
    keys = listed.json()["results"]
    assert prefix_of(smith_key) in [key["prefix"] for key in keys]
    assert smith_key not in listed.content.decode()


def test_the_revoke_command_takes_the_prefix_with_or_without_the_scheme(smith_key: str) -> None:
    call_command("revoke_api_key", f"gh_{prefix_of(smith_key)}", stderr=StringIO())
    assert ApiKey.objects.get(prefix=prefix_of(smith_key)).revoked_at is not None
    with pytest.raises(CommandError, match="no API key"):
        call_command("revoke_api_key", "000000000000")


def test_a_deactivated_service_account_can_neither_authenticate_nor_get_tokens(
    client_as: ClientAs, bob: User, agent_smith: User, smith_key: str
) -> None:
    deactivated = client_as(bob).post(
        "/api/v1/service-accounts/agent-smith/deactivate", {"reason": "leaked key"}, format="json"
    )
    assert deactivated.status_code == 200
    assert deactivated.json()["is_active"] is False
    assert whoami(smith_key).status_code == 401
    refused = exchange_api_key(smith_key)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_request"
    agent_smith.refresh_from_db()
    with pytest.raises(ValidationError, match="disabled"):
        gateway_token_mint(actor=bob, identity=agent_smith)
    event = AuditEvent.objects.get(action="service_account.deactivated")
    assert (event.actor_name, event.payload["reason"]) == ("bob", "leaked key")


def test_deactivation_ends_the_accounts_grants_so_agents_drop_its_sessions(
    bob: User, agent_smith: User, smith_on_appdb: Grant
) -> None:
    gateway_token_mint(actor=bob, identity=agent_smith)  # a live token it may still present
    service_account_deactivate(actor=bob, account=agent_smith, reason="offboarded")
    smith_on_appdb.refresh_from_db()
    assert smith_on_appdb.revoked_at is not None
    assert agent_snapshot_build(agent=smith_on_appdb.resource.agent).grants == ()
    revoked = AuditEvent.objects.get(action="grant.revoked")
    assert revoked.payload["reason"] == "offboarded"
    deactivated = AuditEvent.objects.get(action="service_account.deactivated")
    assert deactivated.payload["grants_ended"] == [str(smith_on_appdb.pk)]


def test_reactivation_restores_the_keys_but_not_the_grants(
    bob: User, agent_smith: User, smith_key: str, smith_on_appdb: Grant
) -> None:
    service_account_deactivate(actor=bob, account=agent_smith)
    service_account_deactivate(actor=bob, account=agent_smith)  # nothing more happens
    service_account_reactivate(actor=bob, account=agent_smith)
    assert whoami(smith_key).status_code == 200
    assert not Grant.objects.not_ended().filter(identity=agent_smith).exists()
    assert AuditEvent.objects.filter(action="service_account.deactivated").count() == 1
    assert AuditEvent.objects.filter(action="service_account.reactivated").count() == 1


def test_only_service_accounts_are_deactivated_here_and_only_by_administrators(
    client_as: ClientAs, bob: User, alice: User, agent_smith: User
) -> None:
    with pytest.raises(ValidationError):
        service_account_deactivate(actor=bob, account=alice)
    assert client_as(bob).post("/api/v1/service-accounts/alice/deactivate").status_code == 404
    assert (
        client_as(alice).post("/api/v1/service-accounts/agent-smith/deactivate").status_code == 403
    )
    agent_smith.refresh_from_db()
    assert agent_smith.is_active


def test_the_commands_deactivate_and_reactivate(agent_smith: User, smith_key: str) -> None:
    call_command(
        "deactivate_service_account", "agent-smith", "--reason", "rotation", stderr=StringIO()
    )
    assert whoami(smith_key).status_code == 401
    call_command("reactivate_service_account", "agent-smith", stderr=StringIO())
    assert whoami(smith_key).status_code == 200
    with pytest.raises(CommandError, match="no service account"):
        call_command("deactivate_service_account", "alice")
