"""``manage.py mint_token --identity NAME [--ttl SECONDS] [--out FILE]``"""

from typing import Any

from django.core.management.base import CommandError, CommandParser

from controlplane.cli import ServiceCommand
from controlplane.identities.models import User
from controlplane.identities.selectors import identity_get
from controlplane.identities.tokens import gateway_token_mint


class Command(ServiceCommand):
    help = "Mint a gateway token for an identity (the TTL is capped to the configured maximum)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--identity", required=True, metavar="NAME")
        parser.add_argument("--ttl", type=int, default=None, metavar="SECONDS")
        parser.add_argument("--out", metavar="FILE", help="write the token here (mode 0600)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            identity = identity_get(username=options["identity"])
        except User.DoesNotExist:
            raise CommandError(f"no identity named {options['identity']!r}") from None
        minted = gateway_token_mint(actor=None, identity=identity, ttl_seconds=options["ttl"])
        self.emit_secret(
            secret=minted.token,
            out_path=options["out"],
            what=f"a token for {identity.username} (expires {minted.expires_at.isoformat()})",
        )
