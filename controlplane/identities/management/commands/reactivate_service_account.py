"""``manage.py reactivate_service_account NAME``"""

from typing import Any

from django.core.management.base import CommandParser

from controlplane.cli import ServiceCommand
from controlplane.identities.management.commands._service_account import service_account_named
from controlplane.identities.services import service_account_reactivate


class Command(ServiceCommand):
    help = "Enable a disabled service account again (its ended grants stay ended)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        account = service_account_reactivate(
            actor=None, account=service_account_named(options["name"])
        )
        self.stderr.write(f"service account {account.username} is enabled again")
