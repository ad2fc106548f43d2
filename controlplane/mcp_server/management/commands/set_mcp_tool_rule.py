"""``manage.py set_mcp_tool_rule NAME --effect allow|deny|hold [--tool T] [--resource R]
[--applies-to people|service_accounts|everyone] [--group G]... [--priority N]
[--hold-timeout SECONDS] [--description TEXT] [--disable]``

Creates the tool rule or replaces it whole (options left out take their defaults, as with
``set_masking_policy``); ``--delete`` deletes it. With no rule matching a call, the call is
allowed (the identity's grants still decide which resources it reaches).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from controlplane.mcp_server.models import EVERY_TOOL, TOOL_NAMES, ToolRule
from controlplane.mcp_server.services import TOOL_RULES
from controlplane.scoped_rules.commands import ScopedRuleCommand


class Command(ScopedRuleCommand):
    help = "Create or replace an MCP tool rule (the whole rule), or delete it."
    kind = TOOL_RULES

    def add_own_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--effect", choices=ToolRule.Effect.values)
        parser.add_argument("--tool", choices=[EVERY_TOOL, *TOOL_NAMES], default=EVERY_TOOL)
        parser.add_argument("--hold-timeout", type=int, default=300, metavar="SECONDS")

    def own_spec_fields(self, options: dict[str, Any]) -> dict[str, Any]:
        if not options["effect"]:
            raise CommandError("--effect is required (allow, deny or hold)")
        return {
            "tool": options["tool"],
            "effect": options["effect"],
            "hold_timeout_s": options["hold_timeout"],
        }
