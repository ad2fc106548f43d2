"""The subcommands against a real local HTTP server playing the control plane: what they
send, what they print, and how they fail."""

from __future__ import annotations

import io
import stat
from pathlib import Path
from typing import Any

import pytest

from cli.commands import Context
from cli.config import Config, config_load
from cli.main import main, parser_build
from tests.cli.conftest import ScriptedServer

GRANT = {
    "id": "5f0c0000-0000-4000-8000-000000000001",
    "resource": "appdb",
    "access_level": "read-only",
    "expires_at": "2999-01-01T00:00:00Z",
}
REQUEST = {
    "id": "9a1b0000-0000-4000-8000-000000000002",
    "requester": "alice",
    "resource": "appdb",
    "status": "approved",
    "auto_approved": True,
    "grant": GRANT["id"],
    "duration_seconds": 1800,
    "reason": "INC-7",
}
AUTH_CONFIG = {"issuer": None, "cli_client_id": None, "scopes": None,
               "agent_postgres_address": "agent.example:6432"}  # fmt: skip


def page(*results: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return 200, {"count": len(results), "next": None, "previous": None, "results": list(results)}


@pytest.fixture
def cp(scripted: ScriptedServer) -> ScriptedServer:
    scripted.routes.update(
        {
            ("GET", "/api/v1/me"): (200, {"username": "alice", "kind": "user", "groups": []}),
            ("GET", "/api/v1/auth/config"): (200, AUTH_CONFIG),
            ("GET", "/api/v1/grants"): page(GRANT),
            ("GET", "/api/v1/access-requests"): page(REQUEST, {**REQUEST, "requester": "dan"}),
            ("POST", "/api/v1/access-requests"): (201, REQUEST),
            ("POST", "/api/v1/tokens"): (201, {"token": "gw.token.value", "token_type": "Bearer"}),
        }
    )
    return scripted


class Run:
    def __init__(self, tmp_path: Path, cp: ScriptedServer) -> None:
        self.path = tmp_path / "gatehouse" / "config.json"
        self.cp = cp
        self.key_file = tmp_path / "api-key"
        self.key_file.write_text("gh_0123456789ab_secret\n")
        self.login = {"kind": "api_key", "api_key_file": str(self.key_file)}
        self.execs: list[tuple[str, list[str], dict[str, str]]] = []

    def __call__(self, *argv: str, login: bool = True) -> tuple[int, str]:
        stdout = io.StringIO()
        config = Config(control_plane=self.cp.url, login=self.login if login else {})
        context = Context(
            config=config,
            config_path=self.path,
            environ={"PATH": "/usr/bin"},
            stdout=stdout,
            stderr=io.StringIO(),
            exec_program=lambda program, args, env: self.execs.append((program, args, env)),
        )
        return main(list(argv), context=context), stdout.getvalue()


@pytest.fixture
def run(tmp_path: Path, cp: ScriptedServer) -> Run:
    return Run(tmp_path, cp)


def test_request_parses_for_and_level_and_prints_the_outcome(run: Run) -> None:
    code, out = run("request", "appdb", "--for", "30m", "--reason", "INC-7", "--level", "read-only")

    assert code == 0
    assert run.cp.requests_to("/api/v1/access-requests")[-1].body == {
        "resource": "appdb", "duration_seconds": 1800, "reason": "INC-7",
        "access_level": "read-only",
    }  # fmt: skip
    assert f"request {REQUEST['id']}: approved" in out
    assert "approved automatically" in out
    assert run.cp.seen[-1].headers["Authorization"] == "ApiKey gh_0123456789ab_secret"


def test_a_pending_request_says_it_waits_for_an_approver(run: Run) -> None:
    run.cp.routes[("POST", "/api/v1/access-requests")] = (201, {**REQUEST, "status": "pending"})
    code, out = run("request", "appdb", "--for", "1h", "--reason", "r")
    assert code == 0 and "pending" in out and "waiting for an approver" in out


def test_status_lists_my_grants_with_time_left_and_only_my_requests(run: Run) -> None:
    code, out = run("status")

    assert code == 0
    assert "signed in as alice" in out
    assert "appdb" in out and "read-only" in out and "left)" in out
    assert out.count(REQUEST["id"]) == 1  # dan's request (visible to an approver) is not shown
    grants_query = run.cp.requests_to("/api/v1/grants")[0].query
    assert grants_query["identity"] == ["alice"] and grants_query["active"] == ["true"]


def test_dsn_prints_a_libpq_string_for_the_agent_with_a_fresh_token(run: Run) -> None:
    code, out = run("dsn", "appdb", "--ttl", "5m")

    assert code == 0
    assert out.strip() == (
        "host=agent.example port=6432 dbname=appdb user=alice password=gw.token.value "
        "sslmode=require"
    )
    assert run.cp.requests_to("/api/v1/tokens")[0].body == {"ttl_seconds": 300}


def test_dsn_takes_the_agent_from_the_flag_over_the_control_plane(run: Run) -> None:
    code, out = run("dsn", "appdb", "--agent", "[::1]:7000")
    assert code == 0 and "host=::1 port=7000" in out


def test_psql_passes_the_token_in_the_environment_not_on_the_command_line(run: Run) -> None:
    code, _ = run("psql", "appdb", "--", "-c", "select 1")

    assert code == 0
    program, argv, env = run.execs[0]
    assert program == "psql"
    assert argv == [
        "psql", "host=agent.example port=6432 dbname=appdb user=alice sslmode=require",
        "-c", "select 1",
    ]  # fmt: skip
    assert env["PGPASSWORD"] == "gw.token.value"
    assert all("gw.token.value" not in arg for arg in argv)


def test_without_an_active_grant_dsn_says_how_to_ask(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    run.cp.routes[("GET", "/api/v1/grants")] = page()
    code, _ = run("dsn", "appdb")

    assert code == 1
    assert "no active grant on appdb" in capsys.readouterr().err
    assert not run.cp.requests_to("/api/v1/tokens")


def test_refused_credentials_point_at_gatehouse_login(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    run.cp.routes[("GET", "/api/v1/me")] = (401, {"detail": "invalid or revoked API key"})
    code, _ = run("status")
    err = capsys.readouterr().err
    assert code == 1
    assert "invalid or revoked API key" in err and "run `gatehouse login`" in err


def test_validation_errors_are_shown_field_by_field(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = (400, {"duration_seconds": ["longer than the policy's maximum of 1h"]})
    run.cp.routes[("POST", "/api/v1/access-requests")] = answer
    code, _ = run("request", "appdb", "--for", "8h", "--reason", "r")
    assert code == 1
    assert "duration_seconds: longer than the policy's maximum" in capsys.readouterr().err


def test_not_logged_in_says_so(run: Run, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run("status", login=False)
    assert code == 1 and "run `gatehouse login`" in capsys.readouterr().err


def test_an_unreachable_control_plane_is_one_line(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run("--control-plane", "http://127.0.0.1:1", "status")
    assert code == 1 and "cannot reach http://127.0.0.1:1" in capsys.readouterr().err


def test_login_with_an_api_key_file_checks_it_and_remembers_the_path(run: Run) -> None:
    code, out = run("login", "--api-key-file", str(run.key_file), login=False)

    assert code == 0 and f"signed in to {run.cp.url} as alice" in out
    saved = config_load(run.path)
    assert saved.login == {"kind": "api_key", "api_key_file": str(run.key_file)}
    assert stat.S_IMODE(run.path.stat().st_mode) == 0o600
    assert "secret" not in run.path.read_text()


def test_login_without_cli_sign_in_configured_explains(
    run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run("login", login=False)
    assert code == 1 and "--api-key-file" in capsys.readouterr().err
    assert not run.path.exists()


@pytest.mark.parametrize(
    "argv",
    [["request", "appdb", "--reason", "r"], ["request", "appdb", "--for", "30m"],
     ["request", "appdb", "--for", "soon", "--reason", "r"], ["dsn"], []],
)  # fmt: skip
def test_bad_arguments_are_usage_errors(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parser_build().parse_args(argv)
    assert exit_info.value.code == 2


def test_control_plane_may_come_before_or_after_the_command() -> None:
    before = parser_build().parse_args(["--control-plane", "https://a", "status"])
    after = parser_build().parse_args(["status", "--control-plane", "https://b"])
    neither = parser_build().parse_args(["status"])
    assert before.control_plane == "https://a"
    assert after.control_plane == "https://b"
    assert not hasattr(neither, "control_plane")
