"""``manage.py resolve_incident [--reason TEXT]``"""

from typing import Any

from django.core.management.base import CommandParser

from controlplane.cli import ServiceCommand
from controlplane.policies.services import incident_resolve


class Command(ServiceCommand):
    help = "Close the open incident (nothing to do if none is open)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reason", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        incident = incident_resolve(actor=None, reason=options["reason"])
        self.stderr.write(f"incident {incident.pk} resolved" if incident else "no open incident")
