"""``manage.py deactivate_service_account NAME [--reason TEXT]``"""

from typing import Any

from django.core.management.base import CommandParser

from controlplane.cli import ServiceCommand
from controlplane.identities.management.commands._service_account import service_account_named
from controlplane.identities.services import service_account_deactivate


class Command(ServiceCommand):
    help = "Disable a service account: its keys are refused, and its grants end."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--reason", default="", help="recorded in the audit log")

    def handle(self, *args: Any, **options: Any) -> None:
        account = service_account_deactivate(
            actor=None, account=service_account_named(options["name"]), reason=options["reason"]
        )
        self.stderr.write(f"service account {account.username} is disabled")
