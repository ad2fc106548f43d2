"""A real OpenID provider (the `oidc-provider` npm package, `devstack/oidc/provider.mjs`) as a
child process on a free loopback port, with the clients and users a test asks for.

    provider = OidcProvider(tmp_path, clients=[control_plane_client(cp_url)]).start()
    env = provider.relying_party_env(CONTROL_PLANE_CLIENT_ID)   # GATEHOUSE_OIDC_* for the CP
    token = provider.client_credentials_token(SERVICE_CLIENT_ID)  # a JWT for the service account
    provider.stop()

Personas: alice (requesters), bob (approvers), carol (auditors); passwords below. The service
account "agent-smith" is a confidential client that uses the client-credentials grant and gets
a JWT access token with audience GATEHOUSE_AUDIENCE.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.error
import urllib.request
from base64 import b64encode
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from devstack.ports import free_port
from devstack.processes import ChildProcess

PROVIDER_DIR = Path(__file__).resolve().parent / "oidc"

CONTROL_PLANE_CLIENT_ID = "gatehouse-control-plane"
SERVICE_CLIENT_ID = "agent-smith"
CLI_CLIENT_ID = "gatehouse-cli"
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
GATEHOUSE_AUDIENCE = "urn:gatehouse"
GATEHOUSE_SCOPE = "gatehouse"


@dataclass(frozen=True)
class OidcUser:
    username: str
    password: str
    groups: tuple[str, ...] = ()
    email: str = ""

    def as_config(self) -> dict[str, Any]:
        return {
            "password": self.password,
            "groups": list(self.groups),
            "email": self.email or f"{self.username}@example.test",
            "name": self.username.capitalize(),
        }


@dataclass(frozen=True)
class OidcClient:
    """A client registration; ``metadata`` is passed to oidc-provider as is."""

    client_id: str
    client_secret: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def as_config(self) -> dict[str, Any]:
        # A public client has no secret at all: oidc-provider refuses an empty one.
        secret = {"client_secret": self.client_secret} if self.client_secret else {}
        return {"client_id": self.client_id, **secret, **self.metadata}


PERSONAS = (
    OidcUser("alice", "alice-password-1", ("requesters",)),
    OidcUser("bob", "bob-password-1", ("approvers",)),
    OidcUser("carol", "carol-password-1", ("auditors",)),
)


def control_plane_client(
    control_plane_url: str, *, secret: str | None = None, signing_alg: str = "RS256"
) -> OidcClient:
    """The control plane as a confidential web client (code flow, PKCE, basic auth)."""
    return OidcClient(
        CONTROL_PLANE_CLIENT_ID,
        secret or os.urandom(24).hex(),
        {
            "redirect_uris": [control_plane_url.rstrip("/") + "/oidc/callback/"],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic",
            "id_token_signed_response_alg": signing_alg,
        },
    )


def cli_client(client_id: str = CLI_CLIENT_ID) -> OidcClient:
    """`gatehouse login`: a native public client (no secret, RFC 8252) that signs in with the
    device flow or in the browser through a loopback redirect. For ``application_type:
    native`` oidc-provider accepts any port on a registered loopback redirect URI, so the
    command line can listen on an ephemeral port; the refresh_token grant lets it ask for
    offline_access and renew its sign-in (oidc-provider rotates a public client's refresh
    tokens)."""
    return OidcClient(
        client_id,
        "",
        {
            "application_type": "native",
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token", DEVICE_CODE_GRANT],
            "response_types": ["code"],
            "redirect_uris": ["http://127.0.0.1/callback"],
        },
    )


def service_account_client(client_id: str = SERVICE_CLIENT_ID) -> OidcClient:
    """An AI agent's machine identity: client credentials only, no redirect, no user."""
    return OidcClient(
        client_id,
        os.urandom(24).hex(),
        {
            "redirect_uris": [],
            "response_types": [],
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "client_secret_basic",
        },
    )


class OidcProvider:
    """`node provider.mjs` on a free port; issuer ``http://127.0.0.1:<port>``."""

    def __init__(
        self,
        base_dir: Path,
        *,
        clients: list[OidcClient] | None = None,
        users: tuple[OidcUser, ...] = PERSONAS,
        port: int | None = None,
    ) -> None:
        self.dir = base_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.clients = {client.client_id: client for client in clients or []}
        self.users = {user.username: user for user in users}
        self.process: ChildProcess | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> dict[str, Any]:
        return {
            "port": self.port,
            "users": {name: user.as_config() for name, user in self.users.items()},
            "clients": [client.as_config() for client in self.clients.values()],
            "resources": {GATEHOUSE_AUDIENCE: {"scope": GATEHOUSE_SCOPE}},
            "defaultResource": GATEHOUSE_AUDIENCE,
        }

    def start(self, *, timeout_s: float = 60) -> OidcProvider:
        # Loading oidc-provider takes node a second or two, far longer on a busy 2-core box.
        node = shutil.which("node")
        if node is None or not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
            raise RuntimeError(
                "the test OpenID provider needs node and its npm packages: "
                "run scripts/bootstrap.sh (it runs `npm ci` in devstack/oidc)"
            )
        env = {**os.environ, "GATEHOUSE_OIDC_PROVIDER_CONFIG": json.dumps(self.config())}
        self.process = ChildProcess(
            [node, str(PROVIDER_DIR / "provider.mjs")],
            log_path=self.dir / "oidc-provider.log",
            env=env,
            cwd=PROVIDER_DIR,
        )
        self._wait_for_discovery(timeout_s)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    def __enter__(self) -> OidcProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def discovery(self) -> dict[str, Any]:
        url = self.issuer + "/.well-known/openid-configuration"
        with urllib.request.urlopen(url, timeout=5) as response:
            return dict(json.loads(response.read()))

    def relying_party_env(self, client_id: str = CONTROL_PLANE_CLIENT_ID) -> dict[str, str]:
        """GATEHOUSE_OIDC_* for a control plane signing in through ``client_id``."""
        client = self.clients[client_id]
        return {
            "GATEHOUSE_OIDC_ISSUER": self.issuer,
            "GATEHOUSE_OIDC_CLIENT_ID": client.client_id,
            "GATEHOUSE_OIDC_CLIENT_SECRET": client.client_secret,
            "GATEHOUSE_OIDC_SCOPES": "openid email profile groups",
            "GATEHOUSE_OIDC_SIGNING_ALG": client.metadata.get(
                "id_token_signed_response_alg", "RS256"
            ),
        }

    def client_credentials_token(
        self, client_id: str = SERVICE_CLIENT_ID, *, resource: str = GATEHOUSE_AUDIENCE
    ) -> str:
        """An access token (a JWT for ``resource``) from the client-credentials grant."""
        client = self.clients[client_id]
        basic = b64encode(f"{client.client_id}:{client.client_secret}".encode()).decode()
        body = {"grant_type": "client_credentials", "resource": resource, "scope": GATEHOUSE_SCOPE}
        request = urllib.request.Request(
            self.discovery()["token_endpoint"],
            data=urlencode(body).encode(),
            headers={"Authorization": f"Basic {basic}"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return str(json.loads(response.read())["access_token"])

    def _wait_for_discovery(self, timeout_s: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self.discovery()
                return
            except (OSError, urllib.error.URLError, ValueError):
                if not self.process.alive() or time.monotonic() > deadline:
                    tail = self.process.log_tail()
                    self.stop()
                    raise RuntimeError(f"the test OpenID provider did not start:\n{tail}") from None
                time.sleep(0.05)
