"""OIDC configuration from the environment: off unless an issuer is set, loud when wrong,
and endpoints discovered from the issuer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
from django.core.exceptions import ImproperlyConfigured

from controlplane.identities.oidc import discovery
from controlplane.identities.oidc.config import oidc_config_from_env
from controlplane.identities.oidc.discovery import ProviderUnavailable, provider_endpoints

ISSUER = "https://idp.example.test"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("ISSUER", "CLIENT_ID", "CLIENT_SECRET", "CLIENT_SECRET_FILE", "SCOPES",
                 "GROUPS_CLAIM", "SIGNING_ALG", "TOKEN_ENDPOINT"):  # fmt: skip
        monkeypatch.delenv(f"GATEHOUSE_OIDC_{name}", raising=False)
    monkeypatch.setenv("GATEHOUSE_OIDC_ISSUER", ISSUER)
    monkeypatch.setenv("GATEHOUSE_OIDC_CLIENT_ID", "gatehouse")
    monkeypatch.setenv("GATEHOUSE_OIDC_CLIENT_SECRET", "s3cret")
    return monkeypatch


def test_oidc_is_off_without_an_issuer(env: pytest.MonkeyPatch) -> None:
    env.delenv("GATEHOUSE_OIDC_ISSUER")
    assert oidc_config_from_env() is None


def test_defaults(env: pytest.MonkeyPatch) -> None:
    config = oidc_config_from_env()
    assert config is not None
    assert (config.issuer, config.client_id, config.client_secret) == (
        ISSUER,
        "gatehouse",
        "s3cret",
    )
    assert config.scopes == "openid email profile"
    assert (config.groups_claim, config.signing_algorithm) == ("groups", "RS256")
    assert "s3cret" not in repr(config)


def test_the_client_secret_may_come_from_a_file(env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("from-a-file\n")
    env.delenv("GATEHOUSE_OIDC_CLIENT_SECRET")
    env.setenv("GATEHOUSE_OIDC_CLIENT_SECRET_FILE", str(tmp_path / "secret"))
    config = oidc_config_from_env()
    assert config is not None and config.client_secret == "from-a-file"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("GATEHOUSE_OIDC_CLIENT_ID", "", "GATEHOUSE_OIDC_CLIENT_ID is required"),
        ("GATEHOUSE_OIDC_CLIENT_SECRET", "", "GATEHOUSE_OIDC_CLIENT_SECRET"),
        ("GATEHOUSE_OIDC_SCOPES", "email profile", "must include openid"),
        ("GATEHOUSE_OIDC_SIGNING_ALG", "HS256", "RS256, ES256"),
        ("GATEHOUSE_OIDC_ISSUER", "idp.example.test", r"http\(s\) URL"),
        ("GATEHOUSE_OIDC_ISSUER", "http://idp.example.test", "must use https"),
        ("GATEHOUSE_OIDC_TOKEN_ENDPOINT", "ftp://x", "GATEHOUSE_OIDC_TOKEN_ENDPOINT"),
    ],
)
def test_bad_values_fail_at_start_naming_the_variable(
    env: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    env.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=message):
        oidc_config_from_env()


def test_plain_http_is_fine_on_loopback(env: pytest.MonkeyPatch) -> None:
    env.setenv("GATEHOUSE_OIDC_ISSUER", "http://127.0.0.1:8080")
    assert oidc_config_from_env() is not None


class FakeResponse:
    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body

    def raise_for_status(self) -> None:
        pass

    def json(self) -> dict[str, Any]:
        return self.body


@pytest.fixture
def metadata(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    body = {
        "issuer": ISSUER,
        "authorization_endpoint": f"{ISSUER}/auth",
        "token_endpoint": f"{ISSUER}/token",
        "userinfo_endpoint": f"{ISSUER}/me",
        "jwks_uri": f"{ISSUER}/jwks",
    }
    fetched: list[str] = []

    def get(url: str, timeout: float) -> FakeResponse:
        fetched.append(url)
        return FakeResponse(body)

    monkeypatch.setattr(discovery.requests, "get", get)
    discovery.provider_endpoints_forget()
    body["_fetched"] = fetched  # type: ignore[assignment]
    yield body
    discovery.provider_endpoints_forget()


def test_endpoints_are_discovered_once_and_explicit_ones_win(
    env: pytest.MonkeyPatch, metadata: dict[str, Any]
) -> None:
    env.setenv("GATEHOUSE_OIDC_TOKEN_ENDPOINT", "https://idp.example.test/other-token")
    config = oidc_config_from_env()
    assert config is not None

    endpoints = provider_endpoints(config)
    provider_endpoints(config)

    assert endpoints["token_endpoint"] == "https://idp.example.test/other-token"
    assert endpoints["jwks_uri"] == f"{ISSUER}/jwks"
    assert metadata["_fetched"] == [f"{ISSUER}/.well-known/openid-configuration"]


def test_metadata_for_another_issuer_is_refused(
    env: pytest.MonkeyPatch, metadata: dict[str, Any]
) -> None:
    metadata["issuer"] = "https://evil.example.test"
    config = oidc_config_from_env()
    assert config is not None
    with pytest.raises(ProviderUnavailable, match="names issuer"):
        provider_endpoints(config)


def test_an_unreachable_provider_is_reported(
    env: pytest.MonkeyPatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(url: str, timeout: float) -> None:
        raise requests.ConnectionError("connection refused")

    monkeypatch.setattr(discovery.requests, "get", refuse)
    discovery.provider_endpoints_forget()
    config = oidc_config_from_env()
    assert config is not None
    with pytest.raises(ProviderUnavailable, match="connection refused"):
        provider_endpoints(config)
