"""``manage.py create_resource NAME --agent A --host H --port P [--database D]
[--upstream-user U] [--upstream-password-file F | --upstream-password-env VAR]
[--protocol postgres|http|llm] [--upstream-tls prefer] [--credential-mode static|ephemeral]
[--access-level NAME=ROLE ...] [--default-access-level NAME] [--http-settings JSON]
[--exists-ok]``

PostgreSQL resources need --database and --upstream-user; http and llm resources take
--http-settings (the contract's HttpSettings document, e.g. ``{"llm_api": "openai",
"auth": "header"}``) and their API key as the upstream password. The password is read from
a file or an environment variable, never from the command line, where other local users
could read it in the process list.
"""

import argparse
import json
import os
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from controlplane.agents.models import Agent
from controlplane.agents.selectors import agent_get
from controlplane.cli import ServiceCommand
from controlplane.resources.models import Resource
from controlplane.resources.protocols import PROTOCOLS
from controlplane.resources.selectors import resource_get
from controlplane.resources.services import resource_create


class Command(ServiceCommand):
    help = "Register a resource (an upstream database, HTTP API or LLM API) served by an agent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--agent", required=True, metavar="NAME")
        parser.add_argument(
            "--protocol", default=PROTOCOLS[0].name, choices=[p.name for p in PROTOCOLS]
        )
        parser.add_argument("--host", required=True)
        parser.add_argument("--port", required=True, type=int)
        parser.add_argument("--database", default="", help="PostgreSQL resources: required")
        parser.add_argument("--upstream-user", default="", help="PostgreSQL resources: required")
        password = parser.add_mutually_exclusive_group()
        password.add_argument("--upstream-password-file", metavar="FILE")
        password.add_argument("--upstream-password-env", metavar="VAR")
        parser.add_argument(
            "--upstream-tls", default=Resource.Tls.PREFER, choices=Resource.Tls.values
        )
        parser.add_argument(
            "--credential-mode",
            default=Resource.CredentialMode.STATIC,
            choices=Resource.CredentialMode.values,
        )
        parser.add_argument(
            "--access-level",
            action="append",
            default=[],
            metavar="NAME=ROLE",
            help="an access level and the upstream role behind it (repeatable)",
        )
        parser.add_argument("--default-access-level", default="", metavar="NAME")
        parser.add_argument(
            "--http-settings",
            type=_json_object,
            default={},
            metavar="JSON",
            help="http and llm resources: their settings as a JSON object (no secrets)",
        )
        parser.add_argument("--exists-ok", action="store_true", help="skip an existing resource")

    def handle(self, *args: Any, **options: Any) -> None:
        if self._exists(options["name"], exists_ok=options["exists_ok"]):
            return
        resource = resource_create(
            actor=None,
            name=options["name"],
            protocol=options["protocol"],
            host=options["host"],
            port=options["port"],
            database=options["database"],
            upstream_user=options["upstream_user"],
            upstream_password=_password(options),
            upstream_tls=options["upstream_tls"],
            credential_mode=options["credential_mode"],
            access_levels=_access_levels(options["access_level"]),
            default_access_level=options["default_access_level"],
            http_settings=options["http_settings"],
            agent=_agent(options["agent"]),
        )
        self.stderr.write(f"created resource {resource.name} on agent {resource.agent.name}")

    def _exists(self, name: str, *, exists_ok: bool) -> bool:
        try:
            resource_get(name=name)
        except Resource.DoesNotExist:
            return False
        if not exists_ok:
            raise CommandError(f"a resource named {name!r} exists already (see --exists-ok)")
        self.stderr.write(f"resource {name} exists already; nothing done")
        return True


def _agent(name: str) -> Agent:
    try:
        return agent_get(name=name)
    except Agent.DoesNotExist:
        raise CommandError(f"no agent named {name!r}") from None


def _access_levels(specs: list[str]) -> list[dict[str, str]]:
    levels = []
    for spec in specs:
        name, sep, role = spec.partition("=")
        if not sep:
            raise CommandError(f"--access-level wants NAME=ROLE, got {spec!r}")
        levels.append({"name": name, "upstream_role": role})
    return levels


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return value


def _password(options: dict[str, Any]) -> str:
    """The secret from a file or the environment; "" when neither is given (an upstream
    that trusts the gateway's address, an HTTP API without auth)."""
    if options["upstream_password_file"]:
        path = Path(options["upstream_password_file"])
        try:
            return path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
    variable = options["upstream_password_env"]
    if not variable:
        return ""
    if variable not in os.environ:
        raise CommandError(f"environment variable {variable} is not set")
    return os.environ[variable]
