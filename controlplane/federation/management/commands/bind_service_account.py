"""``manage.py bind_service_account --issuer NAME --subject SUB --service-account NAME``"""

from typing import Any

from django.core.management.base import CommandError, CommandParser

from controlplane.cli import ServiceCommand
from controlplane.federation.models import TrustedIssuer
from controlplane.federation.selectors import trusted_issuer_get
from controlplane.federation.services import service_account_binding_create
from controlplane.identities.selectors import service_accounts_list


class Command(ServiceCommand):
    help = "Let an external client (its token's sub or client_id) act as a service account."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--issuer", required=True, metavar="NAME")
        parser.add_argument("--subject", required=True, help="the token's sub (or client_id)")
        parser.add_argument("--service-account", required=True, metavar="NAME")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            issuer = trusted_issuer_get(name=options["issuer"])
        except TrustedIssuer.DoesNotExist:
            raise CommandError(f"no trusted issuer named {options['issuer']!r}") from None
        account = service_accounts_list().filter(username=options["service_account"]).first()
        if account is None:
            raise CommandError(f"no service account named {options['service_account']!r}")
        service_account_binding_create(
            actor=None, issuer=issuer, subject=options["subject"], service_account=account
        )
        self.stderr.write(f"{issuer.name}:{options['subject']} now acts as {account.username}")
