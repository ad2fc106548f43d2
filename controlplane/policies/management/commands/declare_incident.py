"""``manage.py declare_incident --reason TEXT``"""

from typing import Any

from django.core.management.base import CommandParser

from controlplane.cli import ServiceCommand
from controlplane.policies.services import incident_declare


class Command(ServiceCommand):
    help = "Open an incident: auto-approval rules marked 'incident' apply until resolved."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reason", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        incident = incident_declare(actor=None, reason=options["reason"])
        self.stderr.write(f"incident {incident.pk} declared")
