"""``manage.py reactivate_trusted_issuer NAME``"""

from typing import Any

from django.core.management.base import CommandParser

from controlplane.cli import ServiceCommand
from controlplane.federation.management.commands._issuer import issuer_named
from controlplane.federation.services import trusted_issuer_reactivate


class Command(ServiceCommand):
    help = "Trust a deactivated issuer's tokens again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")

    def handle(self, *args: Any, **options: Any) -> None:
        issuer = trusted_issuer_reactivate(actor=None, issuer=issuer_named(options["name"]))
        self.stderr.write(f"trusted issuer {issuer.name} is active again")
