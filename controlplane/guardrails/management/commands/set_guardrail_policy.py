"""``manage.py set_guardrail_policy NAME (--file POLICY.json | [--deny-classes drop,truncate]
[--read-only] [--where-required] [--deny-functions] [--hold CLASS]... [--hold-writes]
[--max-rows N] [--unparseable deny|hold|allow]) [--resource R] [--applies-to people|
service_accounts|everyone] [--group G]... [--priority N] [--hold-timeout SECONDS]
[--description TEXT] [--disable]``

Creates the policy or replaces it whole (options left out take their defaults, as with
``set_masking_policy``); ``--delete`` deletes it. ``--file`` takes a guardrail policy
document (dataplane/guardrails/document.py); the other rule flags build one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from controlplane.cli import ServiceCommand
from controlplane.guardrails.models import GuardrailPolicy
from controlplane.guardrails.selectors import guardrail_policy_get
from controlplane.guardrails.services import (
    GuardrailPolicySpec,
    guardrail_policy_delete,
    guardrail_policy_set,
)
from controlplane.resources.models import Resource
from controlplane.resources.selectors import resource_get
from dataplane.guardrails.document import FORMAT_VERSION

RULE_FLAGS = (
    "deny_classes",
    "read_only",
    "where_required",
    "deny_functions",
    "hold",
    "hold_writes",
    "max_rows",
    "unparseable",
)


class Command(ServiceCommand):
    help = "Create or replace a guardrail policy (the whole policy), or delete it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--delete", action="store_true")
        parser.add_argument("--file", metavar="POLICY.json", help="a guardrail policy document")
        parser.add_argument("--deny-classes", default="", metavar="CLASS,CLASS")
        parser.add_argument("--read-only", action="store_true", help="deny every write")
        parser.add_argument("--where-required", action="store_true")
        parser.add_argument("--deny-functions", action="store_true", help="the default list")
        parser.add_argument("--hold", action="append", default=[], metavar="CLASS")
        parser.add_argument("--hold-writes", action="store_true", help="hold every write")
        parser.add_argument("--max-rows", type=int, default=None, metavar="N")
        parser.add_argument("--unparseable", choices=["deny", "hold", "allow"], default=None)
        parser.add_argument("--resource", default="", metavar="R", help="default: every one")
        parser.add_argument(
            "--applies-to",
            choices=GuardrailPolicy.AppliesTo.values,
            default=GuardrailPolicy.AppliesTo.EVERYONE,
        )
        parser.add_argument("--group", action="append", default=[], metavar="G")
        parser.add_argument("--priority", type=int, default=0, metavar="N")
        parser.add_argument("--hold-timeout", type=int, default=300, metavar="SECONDS")
        parser.add_argument("--description", default="")
        parser.add_argument("--disable", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"]
        if options["delete"]:
            guardrail_policy_delete(actor=None, policy=_policy(name))
            self.stderr.write(f"guardrail policy {name} deleted")
            return
        _, created = guardrail_policy_set(actor=None, name=name, spec=_spec(options))
        self.stderr.write(f"guardrail policy {name} {'created' if created else 'replaced'}")


def _spec(options: dict[str, Any]) -> GuardrailPolicySpec:
    return GuardrailPolicySpec(
        policy=_document(options),
        description=options["description"],
        resource=_resource(options["resource"]) if options["resource"] else None,
        applies_to=options["applies_to"],
        groups=options["group"],
        priority=options["priority"],
        enabled=not options["disable"],
        hold_timeout_s=options["hold_timeout"],
    )


def _document(options: dict[str, Any]) -> dict[str, Any]:
    flagged = [flag for flag in RULE_FLAGS if options[flag] not in (None, False, "", [])]
    if options["file"]:
        if flagged:
            raise CommandError("--file takes the whole policy; leave out the rule flags")
        return read_policy_file(options["file"])
    if not flagged:
        raise CommandError("give --file POLICY.json or at least one rule flag")
    return _document_from_flags(options)


def read_policy_file(path: str) -> dict[str, Any]:
    """A policy document from a JSON file (the service checks what it says)."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CommandError(f"{path}: {error}") from None
    if not isinstance(document, dict):
        raise CommandError(f"{path}: a guardrail policy document is a JSON object")
    return document


def _document_from_flags(options: dict[str, Any]) -> dict[str, Any]:
    rules: list[dict[str, Any]] = []
    classes = [c.strip() for c in options["deny_classes"].split(",") if c.strip()]
    if classes:
        rules.append({"kind": "deny_statements", "name": "deny-classes", "classes": classes})
    if options["read_only"]:
        rules.append({"kind": "read_only", "name": "read-only"})
    if options["where_required"]:
        rules.append({"kind": "where_required", "name": "where-required"})
    if options["deny_functions"]:
        rules.append({"kind": "denied_functions", "name": "denied-functions"})
    held = [c.strip() for text in options["hold"] for c in text.split(",") if c.strip()]
    if held:
        rules.append(
            {"kind": "deny_statements", "name": "hold-classes", "verdict": "hold", "classes": held}
        )
    if options["hold_writes"]:
        rules.append({"kind": "read_only", "name": "hold-writes", "verdict": "hold"})
    document: dict[str, Any] = {"format_version": FORMAT_VERSION, "rules": rules}
    if options["unparseable"]:
        document["unparseable"] = options["unparseable"]
    if options["max_rows"] is not None:
        document["max_rows"] = options["max_rows"]
    return document


def _resource(name: str) -> Resource:
    try:
        return resource_get(name=name)
    except Resource.DoesNotExist:
        raise CommandError(f"no resource named {name!r}") from None


def _policy(name: str) -> GuardrailPolicy:
    try:
        return guardrail_policy_get(name=name)
    except GuardrailPolicy.DoesNotExist:
        raise CommandError(f"no guardrail policy named {name!r}") from None
