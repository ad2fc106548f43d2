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

from controlplane.cli import ServiceCommand
from controlplane.mcp_server.models import EVERY_TOOL, TOOL_NAMES, ToolRule
from controlplane.mcp_server.selectors import tool_rule_get
from controlplane.mcp_server.services import ToolRuleSpec, tool_rule_delete, tool_rule_set
from controlplane.resources.models import Resource
from controlplane.resources.selectors import resource_get


class Command(ServiceCommand):
    help = "Create or replace an MCP tool rule (the whole rule), or delete it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--delete", action="store_true")
        parser.add_argument("--effect", choices=ToolRule.Effect.values)
        parser.add_argument("--tool", choices=[EVERY_TOOL, *TOOL_NAMES], default=EVERY_TOOL)
        parser.add_argument("--resource", default="", metavar="R", help="default: every one")
        parser.add_argument(
            "--applies-to", choices=ToolRule.AppliesTo.values, default=ToolRule.AppliesTo.EVERYONE
        )
        parser.add_argument("--group", action="append", default=[], metavar="G")
        parser.add_argument("--priority", type=int, default=0, metavar="N")
        parser.add_argument("--hold-timeout", type=int, default=300, metavar="SECONDS")
        parser.add_argument("--description", default="")
        parser.add_argument("--disable", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"]
        if options["delete"]:
            tool_rule_delete(actor=None, rule=_rule(name))
            self.stderr.write(f"tool rule {name} deleted")
            return
        if not options["effect"]:
            raise CommandError("--effect is required (allow, deny or hold)")
        _, created = tool_rule_set(actor=None, name=name, spec=_spec(options))
        self.stderr.write(f"tool rule {name} {'created' if created else 'replaced'}")


def _spec(options: dict[str, Any]) -> ToolRuleSpec:
    return ToolRuleSpec(
        tool=options["tool"],
        effect=options["effect"],
        description=options["description"],
        resource=_resource(options["resource"]) if options["resource"] else None,
        applies_to=options["applies_to"],
        groups=options["group"],
        priority=options["priority"],
        enabled=not options["disable"],
        hold_timeout_s=options["hold_timeout"],
    )


def _resource(name: str) -> Resource:
    try:
        return resource_get(name=name)
    except Resource.DoesNotExist:
        raise CommandError(f"no resource named {name!r}") from None


def _rule(name: str) -> ToolRule:
    try:
        return tool_rule_get(name=name)
    except ToolRule.DoesNotExist:
        raise CommandError(f"no tool rule named {name!r}") from None
