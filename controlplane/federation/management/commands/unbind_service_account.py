"""``manage.py unbind_service_account --issuer NAME --subject SUB``"""

from typing import Any

from django.core.management.base import CommandError, CommandParser

from controlplane.cli import ServiceCommand
from controlplane.federation.management.commands._issuer import issuer_named
from controlplane.federation.models import ServiceAccountBinding
from controlplane.federation.selectors import service_account_binding_get
from controlplane.federation.services import service_account_binding_delete


class Command(ServiceCommand):
    help = "Remove a binding: the external client no longer acts as its service account."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--issuer", required=True, metavar="NAME")
        parser.add_argument("--subject", required=True, help="the bound sub (or client_id)")

    def handle(self, *args: Any, **options: Any) -> None:
        issuer = issuer_named(options["issuer"])
        try:
            binding = service_account_binding_get(issuer=issuer, subject=options["subject"])
        except ServiceAccountBinding.DoesNotExist:
            raise CommandError(f"{options['subject']!r} is not bound at {issuer.name}") from None
        service_account_binding_delete(actor=None, binding=binding)
        self.stderr.write(f"{issuer.name}:{options['subject']} no longer acts as anyone")
