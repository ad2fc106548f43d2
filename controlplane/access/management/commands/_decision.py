"""What approve_request and deny_request share: finding the request and the approver."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.core.exceptions import PermissionDenied
from django.core.management.base import CommandError, CommandParser

from controlplane.access.models import AccessRequest
from controlplane.access.selectors import access_request_get
from controlplane.cli import ServiceCommand
from controlplane.identities.selectors import identity_find


class DecisionCommand(ServiceCommand):
    """Decide a request as a named approver (the policy's checks apply to that identity
    exactly as they do in the API)."""

    verb = ""

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("request_id")
        parser.add_argument("--as", dest="approver", required=True, metavar="NAME")
        parser.add_argument("--comment", default="")

    def decide(self, service: Callable[..., AccessRequest], options: dict[str, Any]) -> None:
        approver = identity_find(username=options["approver"])
        if approver is None:
            raise CommandError(f"no identity named {options['approver']!r}")
        try:
            request = service(
                actor=approver,
                request=request_find(options["request_id"]),
                comment=options["comment"],
            )
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from None
        self.stderr.write(f"request {request.pk} is {request.status}")
        self.stdout.write(request.status)


def request_find(request_id: str) -> AccessRequest:
    """The request with this id, or a CommandError."""
    try:
        return access_request_get(request_id=UUID(request_id))
    except (ValueError, AccessRequest.DoesNotExist):
        raise CommandError(f"no access request with id {request_id!r}") from None
