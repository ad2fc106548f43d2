"""``manage.py set_masking_policy NAME [--resource R] [--applies-to people|service_accounts|
everyone] [--group G]... [--default STRATEGY] [--strategy ENTITY=STRATEGY]...
[--column COLUMN=ENTITY]... [--json-key PATH=ENTITY]... [--deny TERM]... [--entity E]...
[--on-failure redact|error] [--priority N] [--description TEXT] [--disable]``

Creates the policy or replaces it whole (options left out take their defaults, as with
``set_policy``); ``--delete`` deletes it.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from controlplane.masking.models import MaskingPolicy
from controlplane.masking.services import MASKING_POLICIES
from controlplane.scoped_rules.commands import ScopedRuleCommand
from dataplane.contract.masking import STRATEGIES


class Command(ScopedRuleCommand):
    help = "Create or replace a masking policy (the whole policy), or delete it."
    kind = MASKING_POLICIES

    def add_own_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--default", choices=STRATEGIES, default="redact")
        parser.add_argument("--strategy", action="append", default=[], metavar="ENTITY=STRATEGY")
        parser.add_argument("--column", action="append", default=[], metavar="COLUMN=ENTITY")
        parser.add_argument("--json-key", action="append", default=[], metavar="PATH=ENTITY")
        parser.add_argument("--deny", action="append", default=[], metavar="TERM")
        parser.add_argument("--entity", action="append", default=[], metavar="E")
        parser.add_argument(
            "--on-failure", choices=MaskingPolicy.OnFailure.values, default="redact"
        )

    def own_spec_fields(self, options: dict[str, Any]) -> dict[str, Any]:
        return {
            "default_strategy": options["default"],
            "strategies": _pairs("--strategy", options["strategy"]),
            "entities": options["entity"],
            "column_rules": _pairs("--column", options["column"]),
            "json_key_rules": _pairs("--json-key", options["json_key"]),
            "deny_list": options["deny"],
            "on_failure": options["on_failure"],
        }


def _pairs(flag: str, texts: list[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for text in texts:
        key, sign, value = text.partition("=")
        if not sign or not key or not value:
            raise CommandError(f"{flag} {text!r}: want KEY=VALUE")
        pairs[key] = value
    return pairs
