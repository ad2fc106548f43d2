"""create_resource reads the password from a file or variable, never from argv."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from controlplane.agents.services import IssuedAgent
from controlplane.resources.selectors import resource_get, resource_upstream_password

ARGS = ("--agent", "edge-1", "--host", "db.internal", "--port", "5432", "--database", "app")


def run(*args: str) -> str:
    err = StringIO()
    call_command(*args, stdout=StringIO(), stderr=err)
    return err.getvalue()


def test_the_password_comes_from_a_file(edge: IssuedAgent, tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    run(
        "create_resource",
        "appdb",
        *ARGS,
        "--upstream-user",
        "app",
        "--upstream-password-file",
        str(secret),
    )
    resource = resource_get(name="appdb")
    assert resource_upstream_password(resource=resource) == "from-file"
    assert resource.upstream_tls == "prefer"


def test_the_password_comes_from_an_environment_variable(
    edge: IssuedAgent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APPDB_PASSWORD", "from-env")
    run(
        "create_resource",
        "appdb",
        *ARGS,
        "--upstream-user",
        "app",
        "--upstream-password-env",
        "APPDB_PASSWORD",
        "--upstream-tls",
        "require",
    )
    resource = resource_get(name="appdb")
    assert resource_upstream_password(resource=resource) == "from-env"
    assert resource.upstream_tls == "require"


def test_a_missing_variable_or_agent_fails_clearly(
    edge: IssuedAgent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOPE_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="NOPE_PASSWORD is not set"):
        run(
            "create_resource",
            "appdb",
            *ARGS,
            "--upstream-user",
            "a",
            "--upstream-password-env",
            "NOPE_PASSWORD",
        )
    monkeypatch.setenv("PW", "x")
    with pytest.raises(CommandError, match="no agent named 'edge-9'"):
        run(
            "create_resource",
            "appdb",
            "--agent",
            "edge-9",
            "--host",
            "h",
            "--port",
            "1",
            "--database",
            "d",
            "--upstream-user",
            "a",
            "--upstream-password-env",
            "PW",
        )


def test_an_existing_resource_fails_unless_exists_ok(
    edge: IssuedAgent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PW", "x")
    args = (
        "create_resource",
        "appdb",
        *ARGS,
        "--upstream-user",
        "a",
        "--upstream-password-env",
        "PW",
    )
    run(*args)
    with pytest.raises(CommandError, match="exists already"):
        run(*args)
    assert "nothing done" in run(*args, "--exists-ok")
