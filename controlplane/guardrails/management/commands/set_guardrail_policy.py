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

from controlplane.guardrails.services import GUARDRAIL_POLICIES
from controlplane.scoped_rules.commands import ScopedRuleCommand
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


class Command(ScopedRuleCommand):
    help = "Create or replace a guardrail policy (the whole policy), or delete it."
    kind = GUARDRAIL_POLICIES

    def add_own_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--file", metavar="POLICY.json", help="a guardrail policy document")
        parser.add_argument("--deny-classes", default="", metavar="CLASS,CLASS")
        parser.add_argument("--read-only", action="store_true", help="deny every write")
        parser.add_argument("--where-required", action="store_true")
        parser.add_argument("--deny-functions", action="store_true", help="the default list")
        parser.add_argument("--hold", action="append", default=[], metavar="CLASS")
        parser.add_argument("--hold-writes", action="store_true", help="hold every write")
        parser.add_argument("--max-rows", type=int, default=None, metavar="N")
        parser.add_argument("--unparseable", choices=["deny", "hold", "allow"], default=None)
        parser.add_argument("--hold-timeout", type=int, default=300, metavar="SECONDS")

    def own_spec_fields(self, options: dict[str, Any]) -> dict[str, Any]:
        return {"policy": _document(options), "hold_timeout_s": options["hold_timeout"]}


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
