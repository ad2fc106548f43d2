"""``manage.py grant_access --identity NAME --resource NAME --duration SECONDS [--reason TEXT]``"""

from datetime import timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser

from controlplane.access.services import grant_create
from controlplane.cli import ServiceCommand
from controlplane.identities.selectors import identity_find
from controlplane.resources.models import Resource
from controlplane.resources.selectors import resource_get


class Command(ServiceCommand):
    help = "Grant an identity access to a resource for a while; prints the grant id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--identity", required=True, metavar="NAME")
        parser.add_argument("--resource", required=True, metavar="NAME")
        parser.add_argument("--duration", required=True, type=int, metavar="SECONDS")
        parser.add_argument("--reason", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        identity = identity_find(username=options["identity"])
        if identity is None:
            raise CommandError(f"no identity named {options['identity']!r}")
        try:
            resource = resource_get(name=options["resource"])
        except Resource.DoesNotExist:
            raise CommandError(f"no resource named {options['resource']!r}") from None
        grant = grant_create(
            actor=None,
            identity=identity,
            resource=resource,
            duration=timedelta(seconds=options["duration"]),
            reason=options["reason"],
        )
        self.stdout.write(str(grant.pk))
