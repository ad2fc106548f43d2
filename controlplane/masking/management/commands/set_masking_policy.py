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

from controlplane.cli import ServiceCommand
from controlplane.masking.models import MaskingPolicy
from controlplane.masking.selectors import masking_policy_get
from controlplane.masking.services import (
    MaskingPolicySpec,
    masking_policy_delete,
    masking_policy_set,
)
from controlplane.resources.models import Resource
from controlplane.resources.selectors import resource_get
from dataplane.contract.masking import STRATEGIES


class Command(ServiceCommand):
    help = "Create or replace a masking policy (the whole policy), or delete it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--delete", action="store_true")
        parser.add_argument("--resource", default="", metavar="R", help="default: every one")
        parser.add_argument(
            "--applies-to",
            choices=MaskingPolicy.AppliesTo.values,
            default=MaskingPolicy.AppliesTo.EVERYONE,
        )
        parser.add_argument("--group", action="append", default=[], metavar="G")
        parser.add_argument("--default", choices=STRATEGIES, default="redact")
        parser.add_argument("--strategy", action="append", default=[], metavar="ENTITY=STRATEGY")
        parser.add_argument("--column", action="append", default=[], metavar="COLUMN=ENTITY")
        parser.add_argument("--json-key", action="append", default=[], metavar="PATH=ENTITY")
        parser.add_argument("--deny", action="append", default=[], metavar="TERM")
        parser.add_argument("--entity", action="append", default=[], metavar="E")
        parser.add_argument(
            "--on-failure", choices=MaskingPolicy.OnFailure.values, default="redact"
        )
        parser.add_argument("--priority", type=int, default=0, metavar="N")
        parser.add_argument("--description", default="")
        parser.add_argument("--disable", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"]
        if options["delete"]:
            masking_policy_delete(actor=None, policy=_policy(name))
            self.stderr.write(f"masking policy {name} deleted")
            return
        _, created = masking_policy_set(actor=None, name=name, spec=_spec(options))
        self.stderr.write(f"masking policy {name} {'created' if created else 'replaced'}")


def _spec(options: dict[str, Any]) -> MaskingPolicySpec:
    return MaskingPolicySpec(
        description=options["description"],
        resource=_resource(options["resource"]) if options["resource"] else None,
        applies_to=options["applies_to"],
        groups=options["group"],
        priority=options["priority"],
        enabled=not options["disable"],
        default_strategy=options["default"],
        strategies=_pairs("--strategy", options["strategy"]),
        entities=options["entity"],
        column_rules=_pairs("--column", options["column"]),
        json_key_rules=_pairs("--json-key", options["json_key"]),
        deny_list=options["deny"],
        on_failure=options["on_failure"],
    )


def _pairs(flag: str, texts: list[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for text in texts:
        key, sign, value = text.partition("=")
        if not sign or not key or not value:
            raise CommandError(f"{flag} {text!r}: want KEY=VALUE")
        pairs[key] = value
    return pairs


def _resource(name: str) -> Resource:
    try:
        return resource_get(name=name)
    except Resource.DoesNotExist:
        raise CommandError(f"no resource named {name!r}") from None


def _policy(name: str) -> MaskingPolicy:
    try:
        return masking_policy_get(name=name)
    except MaskingPolicy.DoesNotExist:
        raise CommandError(f"no masking policy named {name!r}") from None
