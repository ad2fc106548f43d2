"""Renewing a person's sign-in with the refresh token before a command, against a real local
HTTP server playing the provider (discovery and token endpoint)."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path
from typing import Any

import pytest

from cli.config import Config, LoginExpired, config_load, config_save
from cli.renewal import config_renew_if_due, login_renewal_due
from tests.cli.conftest import ScriptedServer

NOW = 1_900_000_000.0


def unsigned_jwt(exp: float) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part({'sub': 'alice', 'exp': int(exp)})}.sig"


@pytest.fixture
def idp(scripted: ScriptedServer) -> ScriptedServer:
    discovery = {"issuer": scripted.url, "token_endpoint": scripted.url + "/token"}
    scripted.routes[("GET", "/.well-known/openid-configuration")] = (200, discovery)
    scripted.routes[("POST", "/token")] = (200, renewed_tokens("rt-2"))
    return scripted


def renewed_tokens(refresh_token: str | None) -> dict[str, Any]:
    answer = {"id_token": unsigned_jwt(NOW + 300), "access_token": "at-2", "token_type": "Bearer"}
    return answer | ({"refresh_token": refresh_token} if refresh_token else {})


def signed_in(idp: ScriptedServer, *, expires_in: float, refresh_token: str = "rt-1") -> Config:
    login = {
        "kind": "oidc", "issuer": idp.url, "client_id": "gatehouse-cli",
        "id_token": unsigned_jwt(NOW + expires_in), "access_token": "at-1",
        "expires_at": int(NOW + expires_in),
    } | ({"refresh_token": refresh_token} if refresh_token else {})  # fmt: skip
    return Config(control_plane="https://gh.example", login=login)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "gatehouse" / "config.json"


def renew(config: Config, path: Path) -> Config:
    config_save(path, config)
    return config_renew_if_due(config, path=path, now=NOW)


@pytest.mark.parametrize(
    ("expires_in", "due"), [(-60, True), (0, True), (30, True), (31, False), (3600, False)]
)
def test_renewal_is_due_when_expired_or_within_thirty_seconds_of_it(
    idp: ScriptedServer, expires_in: float, due: bool
) -> None:
    assert login_renewal_due(signed_in(idp, expires_in=expires_in).login, now=NOW) is due


def test_logins_without_a_refresh_token_and_api_keys_are_never_renewed(
    idp: ScriptedServer,
) -> None:
    assert not login_renewal_due(signed_in(idp, expires_in=-5, refresh_token="").login, now=NOW)
    assert not login_renewal_due({"kind": "api_key", "api_key_file": "/k"}, now=NOW)


def test_an_expiring_sign_in_is_renewed_and_the_rotated_token_saved_privately(
    idp: ScriptedServer, path: Path
) -> None:
    renewed = renew(signed_in(idp, expires_in=10), path)

    assert renewed.login["expires_at"] == int(NOW + 300)
    assert renewed.login["refresh_token"] == "rt-2"
    assert renewed.authorization(now=NOW) == f"Bearer {unsigned_jwt(NOW + 300)}"
    assert config_load(path) == renewed
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert idp.requests_to("/token")[0].body == {
        "grant_type": "refresh_token", "refresh_token": "rt-1", "client_id": "gatehouse-cli",
    }  # fmt: skip


def test_a_provider_that_does_not_rotate_keeps_the_old_refresh_token(
    idp: ScriptedServer, path: Path
) -> None:
    idp.routes[("POST", "/token")] = (200, renewed_tokens(None))
    assert renew(signed_in(idp, expires_in=-5), path).login["refresh_token"] == "rt-1"


def test_a_fresh_sign_in_makes_no_request(idp: ScriptedServer, path: Path) -> None:
    config = signed_in(idp, expires_in=3600)
    assert config_renew_if_due(config, path=path, now=NOW) is config
    assert not idp.seen


def test_a_renewal_already_saved_by_another_command_is_used_as_is(
    idp: ScriptedServer, path: Path
) -> None:
    config_save(path, signed_in(idp, expires_in=3600, refresh_token="rt-9"))
    current = config_renew_if_due(signed_in(idp, expires_in=-5), path=path, now=NOW)
    assert current.login["refresh_token"] == "rt-9"
    assert not idp.requests_to("/token")


def test_a_refused_renewal_says_run_gatehouse_login(idp: ScriptedServer, path: Path) -> None:
    refusal = {"error": "invalid_grant", "error_description": "grant request is invalid"}
    idp.routes[("POST", "/token")] = (400, refusal)
    config = signed_in(idp, expires_in=-5)

    with pytest.raises(LoginExpired, match=r"grant request is invalid\): run `gatehouse login`"):
        renew(config, path)
    assert config_load(path) == config


def test_a_renewal_without_an_id_token_says_run_gatehouse_login(
    idp: ScriptedServer, path: Path
) -> None:
    idp.routes[("POST", "/token")] = (200, {"access_token": "at", "token_type": "Bearer"})
    with pytest.raises(LoginExpired, match=r"no ID token.*run `gatehouse login`"):
        renew(signed_in(idp, expires_in=-5), path)


def test_a_provider_that_is_down_does_not_end_a_still_valid_sign_in(
    idp: ScriptedServer, path: Path
) -> None:
    config = signed_in(idp, expires_in=10)
    config.login["issuer"] = "http://127.0.0.1:1"
    assert renew(config, path) == config


def test_a_provider_that_is_down_cannot_renew_an_expired_sign_in(
    idp: ScriptedServer, path: Path
) -> None:
    config = signed_in(idp, expires_in=-5)
    config.login["issuer"] = "http://127.0.0.1:1"
    with pytest.raises(LoginExpired, match="could not be renewed: cannot reach"):
        renew(config, path)
