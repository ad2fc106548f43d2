"""What the command line asks before and after it has a credential: the sign-in
configuration (public) and who it is."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.models import Group
from django.test import override_settings
from rest_framework.test import APIClient

from controlplane.identities.models import User
from controlplane.identities.oidc.config import OidcConfig
from controlplane.web.config import AgentAddress

ClientAs = Callable[[User | None], APIClient]
OIDC = OidcConfig(
    issuer="https://idp.example.test",
    client_id="gatehouse-control-plane",
    client_secret="never-shown-secret",
    scopes="openid email profile groups",
    groups_claim="groups",
    signing_algorithm="RS256",
    timeout_seconds=5,
    endpoints={},
)


@override_settings(
    GATEHOUSE_OIDC=OIDC,
    GATEHOUSE_OIDC_CLI_CLIENT_ID="gatehouse-cli",
    GATEHOUSE_AGENT_PUBLIC_ADDRESS=AgentAddress(host="gw.example.test", port=6432),
)
def test_the_sign_in_configuration_is_public_and_holds_no_secret(db: None) -> None:
    response = APIClient().get("/api/v1/auth/config")

    assert response.status_code == 200
    assert response.json() == {
        "issuer": "https://idp.example.test",
        "cli_client_id": "gatehouse-cli",
        "scopes": "openid email profile groups",
        "agent_postgres_address": "gw.example.test:6432",
    }
    assert "never-shown-secret" not in response.content.decode()


@override_settings(
    GATEHOUSE_OIDC=None,
    GATEHOUSE_OIDC_CLI_CLIENT_ID="gatehouse-cli",
    GATEHOUSE_AGENT_PUBLIC_ADDRESS=AgentAddress(host="::1", port=7000),
)
def test_without_oidc_there_is_no_command_line_sign_in(db: None) -> None:
    body = APIClient().get("/api/v1/auth/config").json()
    assert body["issuer"] is None and body["cli_client_id"] is None
    assert body["agent_postgres_address"] == "[::1]:7000"


def test_me_names_the_caller_and_their_groups(client_as: ClientAs, alice: User) -> None:
    alice.groups.add(Group.objects.create(name="requesters"))
    response = client_as(alice).get("/api/v1/me")
    assert response.json() == {"username": "alice", "kind": "user", "groups": ["requesters"]}


def test_me_needs_a_credential(client_as: ClientAs, db: None) -> None:
    assert client_as(None).get("/api/v1/me").status_code == 401
