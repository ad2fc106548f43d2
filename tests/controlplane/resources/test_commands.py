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


def test_an_llm_resource_takes_its_settings_as_json_and_its_key_from_the_environment(
    edge: IssuedAgent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_KEY", "sk-from-env")
    run(
        "create_resource",
        "openai",
        "--agent",
        "edge-1",
        "--protocol",
        "llm",
        "--host",
        "api.openai.com",
        "--port",
        "443",
        "--upstream-password-env",
        "OPENAI_KEY",
        "--http-settings",
        '{"llm_api": "openai", "auth": "header"}',
    )
    resource = resource_get(name="openai")
    assert (resource.protocol, resource.database) == ("llm", "")
    assert resource.http_settings == {"llm_api": "openai", "auth": "header"}
    assert resource_upstream_password(resource=resource) == "sk-from-env"


def test_http_settings_that_are_not_a_json_object_or_not_readable_fail_clearly(
    edge: IssuedAgent,
) -> None:
    args = ("create_resource", "api", "--agent", "edge-1", "--protocol", "http")
    args += ("--host", "api.internal", "--port", "443")
    with pytest.raises(CommandError, match="JSON object"):
        run(*args, "--http-settings", "[1]")
    with pytest.raises(CommandError, match=r"http_settings: .*colour"):
        run(*args, "--http-settings", '{"colour": "blue"}')


def test_a_postgres_resource_without_a_database_fails_clearly(edge: IssuedAgent) -> None:
    with pytest.raises(CommandError, match="database"):
        run("create_resource", "appdb", "--agent", "edge-1", "--host", "h", "--port", "1")
