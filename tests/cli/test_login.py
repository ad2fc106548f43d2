"""`gatehouse login` for people and the silent renewal before later commands, against a real
local HTTP server playing both the control plane and the provider. The "browser" here follows
the authorization URL the way the provider would send it back: one real request to the CLI's
loopback listener."""

from __future__ import annotations

import base64
import io
import json
import stat
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from cli.browser_flow import pkce_challenge
from cli.commands import BROWSER, DEVICE, Context, login_flow_default
from cli.config import Config, config_load, config_save
from cli.main import main, parser_build
from tests.cli.conftest import ScriptedServer

SCOPES = "openid email profile groups"


def unsigned_jwt(exp: float) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part({'sub': 'alice', 'exp': int(exp)})}.sig"


def tokens(generation: int) -> dict[str, Any]:
    return {
        "id_token": unsigned_jwt(time.time() + 300 + generation),
        "access_token": f"at-{generation}",
        "refresh_token": f"rt-{generation}-secret",
        "token_type": "Bearer",
    }


@pytest.fixture
def idp(scripted: ScriptedServer) -> ScriptedServer:
    """The control plane and its provider on one server (different paths)."""
    url = scripted.url
    auth_config = {"issuer": url, "cli_client_id": "gatehouse-cli", "scopes": SCOPES}
    discovery = {
        "issuer": url,
        "authorization_endpoint": url + "/auth",
        "token_endpoint": url + "/token",
        "device_authorization_endpoint": url + "/device/auth",
        "scopes_supported": ["openid", "offline_access", "email", "profile", "groups"],
    }
    scripted.routes.update(
        {
            ("GET", "/api/v1/auth/config"): (200, auth_config),
            ("GET", "/.well-known/openid-configuration"): (200, discovery),
            ("POST", "/token"): (200, tokens(1)),
            ("GET", "/api/v1/me"): (200, {"username": "alice", "kind": "user", "groups": []}),
            ("GET", "/api/v1/grants"): (200, {"count": 0, "results": []}),
            ("GET", "/api/v1/access-requests"): (200, {"count": 0, "results": []}),
        }
    )
    return scripted


class Browser:
    """Plays the browser plus the provider's sign-in pages: sends the redirect back."""

    def __init__(self, answer: dict[str, str] | None = None) -> None:
        self.opened: list[str] = []
        self.pages: list[str] = []
        self.answer = answer or {"code": "code-1"}
        self._threads: list[threading.Thread] = []

    def open(self, url: str) -> bool:
        self.opened.append(url)
        query = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
        back = query["redirect_uri"] + "?" + urlencode({"state": query["state"], **self.answer})
        thread = threading.Thread(target=self._visit, args=(back,))
        thread.start()
        self._threads.append(thread)
        return True

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=10)

    def _visit(self, url: str) -> None:
        try:
            urllib.request.urlopen(url, timeout=10).close()
        except urllib.error.HTTPError as exc:  # the failure page: what the person would see
            self.pages.append(exc.read().decode())


@pytest.fixture
def browser() -> Iterator[Browser]:
    visitor = Browser()
    yield visitor
    visitor.join()


class Run:
    def __init__(self, tmp_path: Path, idp: ScriptedServer, browser: Browser) -> None:
        self.path = tmp_path / "gatehouse" / "config.json"
        self.idp, self.browser = idp, browser
        self.stderr = ""

    def __call__(self, *argv: str) -> tuple[int, str]:
        stdout, stderr = io.StringIO(), io.StringIO()
        context = Context(
            config=config_load(self.path),
            config_path=self.path,
            environ={"GATEHOUSE_URL": self.idp.url},
            stdout=stdout,
            stderr=stderr,
            sleep=lambda _seconds: None,
            open_browser=self.browser.open,
        )
        code = main(list(argv), context=context)
        self.stderr = stderr.getvalue()
        return code, stdout.getvalue()

    def signed_in(self, *, expires_in: float) -> None:
        login = {
            "kind": "oidc", "issuer": self.idp.url, "client_id": "gatehouse-cli",
            "id_token": unsigned_jwt(time.time() + expires_in), "access_token": "at-0",
            "expires_at": int(time.time() + expires_in), "refresh_token": "rt-0-secret",
        }  # fmt: skip
        config_save(self.path, Config(control_plane=self.idp.url, login=login))


@pytest.fixture
def run(tmp_path: Path, idp: ScriptedServer, browser: Browser) -> Run:
    return Run(tmp_path, idp, browser)


def test_browser_login_receives_the_code_and_keeps_the_tokens_privately(
    run: Run, idp: ScriptedServer, browser: Browser, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = run("login", "--browser")

    assert code == 0, capsys.readouterr().err
    assert out == f"signed in to {idp.url} as alice\n"
    opened = browser.opened[0]
    assert opened in run.stderr  # printed too, for when the browser is elsewhere
    request = parse_qs(urlsplit(opened).query)
    assert request["scope"] == [SCOPES + " offline_access"] and request["prompt"] == ["consent"]
    exchange = idp.requests_to("/token")[0].body
    assert pkce_challenge(exchange["code_verifier"]) == request["code_challenge"][0]
    saved = config_load(run.path).login
    assert saved["kind"] == "oidc" and saved["refresh_token"] == "rt-1-secret"
    assert stat.S_IMODE(run.path.stat().st_mode) == 0o600
    assert "secret" not in out + run.stderr + capsys.readouterr().err
    assert (
        idp.requests_to("/api/v1/me")[0].headers["Authorization"] == "Bearer " + (saved["id_token"])
    )


def test_device_login_asks_for_offline_access_too(run: Run, idp: ScriptedServer) -> None:
    device = {"device_code": "dev-1", "user_code": "WDJB-MJHT", "expires_in": 600,
              "verification_uri": idp.url + "/device", "interval": 1}  # fmt: skip
    idp.routes[("POST", "/device/auth")] = (200, device)

    code, _ = run("login", "--device")

    assert code == 0 and "WDJB-MJHT" in run.stderr
    assert idp.requests_to("/device/auth")[0].body["scope"] == SCOPES + " offline_access"
    assert config_load(run.path).login["refresh_token"] == "rt-1-secret"


def test_a_refused_browser_sign_in_saves_nothing(
    run: Run, browser: Browser, capsys: pytest.CaptureFixture[str]
) -> None:
    browser.answer = {"error": "access_denied"}
    code, _ = run("login", "--browser")
    assert code == 1 and "refused at the identity provider" in capsys.readouterr().err
    assert not run.path.exists()
    browser.join()
    assert "Sign-in failed" in browser.pages[0]


def test_a_command_renews_an_expiring_sign_in_silently(run: Run, idp: ScriptedServer) -> None:
    run.signed_in(expires_in=20)

    code, out = run("status")

    assert code == 0 and "signed in as alice" in out and run.stderr == ""
    renewal = idp.requests_to("/token")[0].body
    assert renewal["grant_type"] == "refresh_token" and renewal["refresh_token"] == "rt-0-secret"
    saved = config_load(run.path).login
    assert saved["refresh_token"] == "rt-1-secret"  # the rotated token
    assert (
        idp.requests_to("/api/v1/me")[0].headers["Authorization"] == f"Bearer {saved['id_token']}"
    )
    assert "secret" not in out


def test_a_fresh_sign_in_is_not_renewed(run: Run, idp: ScriptedServer) -> None:
    run.signed_in(expires_in=3600)
    assert run("status")[0] == 0
    assert not idp.requests_to("/token")


def test_a_refused_renewal_tells_you_to_run_gatehouse_login(
    run: Run, idp: ScriptedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    refusal = {"error": "invalid_grant", "error_description": "grant request is invalid"}
    idp.routes[("POST", "/token")] = (400, refusal)
    run.signed_in(expires_in=-60)

    code, _ = run("status")

    err = capsys.readouterr().err
    assert code == 1
    assert "refused to renew it" in err and "run `gatehouse login`" in err
    assert "secret" not in err
    assert not idp.requests_to("/api/v1/me")


@pytest.mark.parametrize(
    ("environ", "platform", "flow"),
    [({"DISPLAY": ":0"}, "linux", BROWSER), ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", BROWSER),
     ({}, "darwin", BROWSER), ({}, "linux", DEVICE),
     ({"DISPLAY": ":0", "SSH_CONNECTION": "10.0.0.1 5 10.0.0.2 22"}, "linux", DEVICE),
     ({"SSH_TTY": "/dev/pts/1"}, "darwin", DEVICE)],
)  # fmt: skip
def test_the_browser_is_the_default_only_in_a_local_desktop_session(
    environ: dict[str, str], platform: str, flow: str
) -> None:
    assert login_flow_default(environ, platform) == flow


@pytest.mark.parametrize(
    "argv", [["login", "--browser", "--device"], ["login", "--device", "--api-key-file", "k"]]
)
def test_one_way_to_sign_in_at_a_time(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parser_build().parse_args(argv)
    assert exit_info.value.code == 2
