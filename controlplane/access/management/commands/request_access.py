"""``manage.py request_access --as NAME --resource NAME --duration SECONDS --reason TEXT
[--level LEVEL]``"""

from datetime import timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.management.base import CommandError, CommandParser

from controlplane.access.services import access_request_create
from controlplane.cli import ServiceCommand
from controlplane.identities.selectors import identity_find
from controlplane.resources.models import Resource
from controlplane.resources.selectors import resource_get


class Command(ServiceCommand):
    help = "Request access for an identity; prints the request id (status on stderr)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as", dest="identity", required=True, metavar="NAME")
        parser.add_argument("--resource", required=True, metavar="NAME")
        parser.add_argument("--duration", required=True, type=int, metavar="SECONDS")
        parser.add_argument("--reason", required=True)
        parser.add_argument("--level", default="", metavar="ACCESS_LEVEL")

    def handle(self, *args: Any, **options: Any) -> None:
        identity = identity_find(username=options["identity"])
        if identity is None:
            raise CommandError(f"no identity named {options['identity']!r}")
        try:
            resource = resource_get(name=options["resource"])
        except Resource.DoesNotExist:
            raise CommandError(f"no resource named {options['resource']!r}") from None
        try:
            request = access_request_create(
                actor=identity,
                resource=resource,
                duration=timedelta(seconds=options["duration"]),
                access_level=options["level"],
                reason=options["reason"],
            )
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from None
        self.stderr.write(f"request {request.pk} is {request.status}")
        self.stdout.write(str(request.pk))
