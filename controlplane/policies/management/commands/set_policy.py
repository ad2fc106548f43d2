"""``manage.py set_policy RESOURCE --max-duration SECONDS [--requester-group G ...]
[--requester-service-account NAME ...] [--approver-group G ...] [--min-approvals N]
[--level NAME ... --default-level NAME] [--auto-approve RULE ...]``

RULE is ``group:NAME:SECONDS[:LEVEL][:session|:call][:incident]`` or
``service-account:NAME:SECONDS[:LEVEL][:session|:call][:incident]``; ``session`` / ``call``
make the rule's grants admit one session / one call.
"""

from datetime import timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser

from controlplane.cli import ServiceCommand
from controlplane.identities.models import User
from controlplane.identities.selectors import identity_find
from controlplane.policies.models import AutoApprovalRule
from controlplane.policies.services import AutoApprovalRuleSpec, PolicySpec, policy_set
from controlplane.resources.models import Resource
from controlplane.resources.selectors import resource_get


class Command(ServiceCommand):
    help = "Create or replace the access policy of a resource (the whole policy)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("resource")
        parser.add_argument("--max-duration", type=int, required=True, metavar="SECONDS")
        parser.add_argument("--requester-group", action="append", default=[], metavar="G")
        parser.add_argument(
            "--requester-service-account", action="append", default=[], metavar="NAME"
        )
        parser.add_argument("--approver-group", action="append", default=[], metavar="G")
        parser.add_argument("--min-approvals", type=int, default=1, metavar="N")
        parser.add_argument("--level", action="append", default=[], metavar="NAME")
        parser.add_argument("--default-level", default="", metavar="NAME")
        parser.add_argument("--auto-approve", action="append", default=[], metavar="RULE")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            resource = resource_get(name=options["resource"])
        except Resource.DoesNotExist:
            raise CommandError(f"no resource named {options['resource']!r}") from None
        spec = PolicySpec(
            max_duration=timedelta(seconds=options["max_duration"]),
            requester_groups=options["requester_group"],
            requester_service_accounts=[
                _identity(name) for name in options["requester_service_account"]
            ],
            approver_groups=options["approver_group"],
            min_approvals=options["min_approvals"],
            access_levels=options["level"],
            default_access_level=options["default_level"],
            auto_approvals=[_rule(text) for text in options["auto_approve"]],
        )
        _, created = policy_set(actor=None, resource=resource, spec=spec)
        self.stderr.write(f"policy for {resource.name} {'created' if created else 'replaced'}")


def _identity(name: str) -> User:
    identity = identity_find(username=name)
    if identity is None:
        raise CommandError(f"no identity named {name!r}")
    return identity


RULE_SHAPE = "KIND:NAME:SECONDS[:LEVEL][:session|:call][:incident]"
# Trailing words that are flags, never an access level.
SCOPES = (AutoApprovalRule.Scope.SESSION, AutoApprovalRule.Scope.CALL)


def _rule(text: str) -> AutoApprovalRuleSpec:
    parts = text.split(":")
    incident = parts[-1] == "incident"
    parts = parts[:-1] if incident else parts
    scope = parts.pop() if parts and parts[-1] in SCOPES else AutoApprovalRule.Scope.DURATION
    if len(parts) not in (3, 4) or parts[0] not in ("group", "service-account"):
        raise CommandError(f"--auto-approve {text!r}: want {RULE_SHAPE}")
    kind, name, seconds = parts[:3]
    if not seconds.isdigit():
        raise CommandError(f"--auto-approve {text!r}: SECONDS must be a whole number")
    return AutoApprovalRuleSpec(
        max_duration=timedelta(seconds=int(seconds)),
        group=name if kind == "group" else "",
        service_account=_identity(name) if kind == "service-account" else None,
        access_level=parts[3] if len(parts) == 4 else "",
        only_during_incident=incident,
        scope=scope,
    )
