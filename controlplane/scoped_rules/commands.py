"""What the ``set_<kind>`` management commands share: ``NAME [--resource R] [--applies-to
people|service_accounts|everyone] [--group G]... [--priority N] [--description TEXT]
[--disable]`` plus the kind's own options creates the rule or replaces it whole (options
left out take their defaults); ``NAME --delete`` deletes it."""

from __future__ import annotations

from typing import Any, ClassVar

from django.core.management.base import CommandError, CommandParser

from controlplane.cli import ServiceCommand
from controlplane.resources.models import Resource
from controlplane.resources.selectors import resource_get
from controlplane.scoped_rules.models import AppliesTo
from controlplane.scoped_rules.resolution import scoped_rules_list
from controlplane.scoped_rules.services import ScopedRuleKind, scoped_rule_delete, scoped_rule_set


class ScopedRuleCommand(ServiceCommand):
    kind: ClassVar[ScopedRuleKind]

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--delete", action="store_true")
        parser.add_argument("--resource", default="", metavar="R", help="default: every one")
        parser.add_argument("--applies-to", choices=AppliesTo.values, default=AppliesTo.EVERYONE)
        parser.add_argument("--group", action="append", default=[], metavar="G")
        parser.add_argument("--priority", type=int, default=0, metavar="N")
        parser.add_argument("--description", default="")
        parser.add_argument("--disable", action="store_true")
        self.add_own_arguments(parser)

    def add_own_arguments(self, parser: CommandParser) -> None:
        """The kind's own options."""

    def own_spec_fields(self, options: dict[str, Any]) -> dict[str, Any]:
        """The kind's own spec fields from its options (a CommandError if they are off)."""
        return {}

    def handle(self, *args: Any, **options: Any) -> None:
        name, noun = options["name"], self.kind.noun
        if options["delete"]:
            scoped_rule_delete(kind=self.kind, actor=None, rule=self._rule(name))
            self.stderr.write(f"{noun} {name} deleted")
            return
        spec = self.kind.spec(**_scope(options), **self.own_spec_fields(options))
        _, created = scoped_rule_set(kind=self.kind, actor=None, name=name, spec=spec)
        self.stderr.write(f"{noun} {name} {'created' if created else 'replaced'}")

    def _rule(self, name: str) -> Any:
        try:
            return scoped_rules_list(self.kind.model).get(name=name)
        except self.kind.model.DoesNotExist:
            raise CommandError(f"no {self.kind.noun} named {name!r}") from None


def _scope(options: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": options["description"],
        "resource": _resource(options["resource"]) if options["resource"] else None,
        "applies_to": options["applies_to"],
        "groups": options["group"],
        "priority": options["priority"],
        "enabled": not options["disable"],
    }


def _resource(name: str) -> Resource:
    try:
        return resource_get(name=name)
    except Resource.DoesNotExist:
        raise CommandError(f"no resource named {name!r}") from None
