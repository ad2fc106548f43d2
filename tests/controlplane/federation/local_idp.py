"""A minimal identity provider for tests: a real HTTP server on a free loopback port that
publishes a JWKS and an OIDC discovery document, answers RFC 7662 introspection, and mints
tokens with keys generated in the test.

It stands in for the `oidc-provider` harness in tests that need to control exactly what a
token looks like (forged, expired, confused algorithms...), which a real IdP won't mint.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

AUDIENCE = "https://gatehouse.test"
CLIENT_ID = "ai-agent-client"
INTROSPECTION_CLIENT = ("gatehouse-introspector", "intro:spect/secret")

_ALGORITHM_OF_KIND = {"rsa": "RS256", "ec": "ES256", "ed25519": "EdDSA"}


def private_key_new(kind: str) -> Any:
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    return Ed25519PrivateKey.generate()


def jwk_of(private_key: Any, kid: str) -> dict[str, Any]:
    public_key = private_key.public_key()
    if isinstance(public_key, rsa.RSAPublicKey):
        document = jwt.algorithms.RSAAlgorithm.to_jwk(public_key, as_dict=True)
    elif isinstance(public_key, ec.EllipticCurvePublicKey):
        document = jwt.algorithms.ECAlgorithm.to_jwk(public_key, as_dict=True)
    else:
        document = jwt.algorithms.OKPAlgorithm.to_jwk(public_key, as_dict=True)
    return {**document, "kid": kid, "use": "sig"}


class LocalIdP:
    """Start with ``with LocalIdP() as idp:``; ``idp.issuer`` is its base URL and ``iss``."""

    def __init__(self) -> None:
        self.keys: dict[str, Any] = {}
        self.published: set[str] = set()
        self.introspection: dict[str, dict[str, Any]] = {}
        self.hits: Counter[str] = Counter()
        self.down = False  # answer 503 to everything, like an IdP in an outage
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        for kind in ("rsa", "ec", "ed25519"):
            self.add_key(f"{kind}-1", kind)

    def __enter__(self) -> LocalIdP:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def jwks_url(self) -> str:
        return self.issuer + "/jwks"

    @property
    def introspection_url(self) -> str:
        return self.issuer + "/introspect"

    def add_key(self, kid: str, kind: str, *, publish: bool = True) -> None:
        self.keys[kid] = private_key_new(kind)
        if publish:
            self.published.add(kid)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [jwk_of(self.keys[kid], kid) for kid in sorted(self.published)]}

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        document: dict[str, Any] = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": CLIENT_ID,
            "client_id": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "jti": str(uuid.uuid4()),
        }
        document.update(overrides)
        return {name: value for name, value in document.items() if value is not None}

    def token(self, *, kid: str = "rsa-1", alg: str | None = None, **overrides: Any) -> str:
        algorithm = alg or _ALGORITHM_OF_KIND[kid.split("-")[0]]
        return jwt.encode(
            self.claims(**overrides), self.keys[kid], algorithm=algorithm, headers={"kid": kid}
        )

    def opaque_token(self, **answer: Any) -> str:
        """A random opaque token the introspection endpoint answers ``answer`` for."""
        token = uuid.uuid4().hex + uuid.uuid4().hex
        now = int(time.time())
        self.introspection[token] = {
            "active": True,
            "iss": self.issuer,
            "aud": AUDIENCE,
            "client_id": CLIENT_ID,
            "sub": CLIENT_ID,
            "exp": now + 300,
            "iat": now,
            **answer,
        }
        return token


def _handler_for(idp: LocalIdP) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def do_GET(self) -> None:
            idp.hits[self.path] += 1
            if idp.down:
                return self._json(503, {"error": "temporarily_unavailable"})
            if self.path == "/jwks":
                return self._json(200, idp.jwks())
            if self.path == "/.well-known/openid-configuration":
                return self._json(
                    200,
                    {
                        "issuer": idp.issuer,
                        "jwks_uri": idp.jwks_url,
                        "introspection_endpoint": idp.introspection_url,
                    },
                )
            return self._json(404, {"error": "not_found"})

        def do_POST(self) -> None:
            idp.hits[self.path] += 1
            if self.path != "/introspect":
                return self._json(404, {"error": "not_found"})
            if self.headers.get("Authorization") != _basic(*INTROSPECTION_CLIENT):
                return self._json(401, {"error": "invalid_client"})
            length = int(self.headers.get("Content-Length", "0"))
            form = parse_qs(self.rfile.read(length).decode("ascii"))
            token = form.get("token", [""])[0]
            return self._json(200, idp.introspection.get(token, {"active": False}))

        def _json(self, status: int, document: dict[str, Any]) -> None:
            body = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def _basic(client_id: str, secret: str) -> str:
    from urllib.parse import quote

    pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()
