"""REST and management commands for trusted issuers and bindings (administrators only)."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from controlplane.audit.models import AuditEvent
from controlplane.federation.models import ServiceAccountBinding, TrustedIssuer
from controlplane.identities.models import User

ClientAs = Callable[[User | None], APIClient]

ISSUER = {
    "name": "corp",
    "issuer": "https://idp.example",
    "audience": "gatehouse",
    "algorithms": ["RS256", "ES256"],
    "introspection_url": "https://idp.example/introspect",
    "introspection_client_id": "gatehouse",
    "introspection_client_secret": "s3cret",
}


def test_an_admin_adds_an_issuer_and_binds_a_service_account(
    client_as: ClientAs, bob: User, agent_smith: User
) -> None:
    api = client_as(bob)
    created = api.post("/api/v1/trusted-issuers", ISSUER, format="json")
    assert created.status_code == 201, created.json()
    assert "introspection_client_secret" not in created.json()
    bound = api.post(
        "/api/v1/trusted-issuers/corp/bindings",
        {"subject": "ai-client", "service_account": "agent-smith"},
        format="json",
    )
    assert bound.status_code == 201
    assert bound.json()["service_account"] == "agent-smith"
    listed = api.get("/api/v1/trusted-issuers/corp/bindings").json()
    assert [b["subject"] for b in listed["results"]] == ["ai-client"]
    assert api.get("/api/v1/trusted-issuers").json()["results"][0]["name"] == "corp"


def test_hs256_is_refused_by_the_api(client_as: ClientAs, bob: User) -> None:
    response = client_as(bob).post(
        "/api/v1/trusted-issuers", {**ISSUER, "algorithms": ["HS256"]}, format="json"
    )
    assert response.status_code == 400
    assert "algorithms" in response.json()


@pytest.mark.parametrize("persona", ["alice", "carol", "agent_smith"])
def test_only_administrators_manage_issuers(
    client_as: ClientAs, persona: str, request: pytest.FixtureRequest
) -> None:
    user = request.getfixturevalue(persona)
    assert client_as(user).post("/api/v1/trusted-issuers", ISSUER, format="json").status_code == 403
    assert client_as(user).get("/api/v1/trusted-issuers").status_code == 403
    assert client_as(None).get("/api/v1/trusted-issuers").status_code == 401


def test_binding_an_unknown_service_account_is_404(client_as: ClientAs, bob: User) -> None:
    client_as(bob).post("/api/v1/trusted-issuers", ISSUER, format="json")
    response = client_as(bob).post(
        "/api/v1/trusted-issuers/corp/bindings",
        {"subject": "x", "service_account": "nobody"},
        format="json",
    )
    assert response.status_code == 404


def test_commands_add_an_issuer_and_a_binding(db: None, agent_smith: User, tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("s3cret\n")
    call_command(
        "add_trusted_issuer",
        "corp",
        "--issuer=https://idp.example",
        "--audience=gatehouse",
        "--algorithm=RS256",
        "--algorithm=EdDSA",
        "--introspection-url=https://idp.example/introspect",
        "--introspection-client-id=gatehouse",
        f"--introspection-client-secret-file={secret}",
        stderr=StringIO(),
    )
    call_command("add_trusted_issuer", "corp", "--issuer=https://x.example", "--audience=a",
                 "--algorithm=RS256", "--exists-ok", stderr=StringIO())  # fmt: skip
    call_command(
        "bind_service_account",
        "--issuer=corp",
        "--subject=ai-client",
        "--service-account=agent-smith",
        stderr=StringIO(),
    )
    assert TrustedIssuer.objects.get().algorithms == ["RS256", "EdDSA"]
    assert ServiceAccountBinding.objects.get().service_account == agent_smith
    assert AuditEvent.objects.filter(action="service_account.bound", actor_kind="system").exists()


def test_a_bad_algorithm_on_the_command_line_fails(db: None) -> None:
    with pytest.raises(CommandError):
        call_command(
            "add_trusted_issuer",
            "corp",
            "--issuer=https://idp.example",
            "--audience=a",
            "--algorithm=HS256",
            stderr=StringIO(),
        )
