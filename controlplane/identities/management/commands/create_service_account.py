"""``manage.py create_service_account NAME [--api-key-out FILE] [--exists-ok]``"""

from typing import Any

from django.core.management.base import CommandError, CommandParser

from controlplane.cli import ServiceCommand
from controlplane.identities.selectors import identity_find
from controlplane.identities.services import service_account_create


class Command(ServiceCommand):
    help = "Create a service account (e.g. for an AI agent) and print its first API key."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument(
            "--api-key-out", metavar="FILE", help="write the API key here (mode 0600)"
        )
        parser.add_argument(
            "--exists-ok",
            action="store_true",
            help="if the account exists already, do nothing and exit 0 (no new key is issued)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"]
        existing = identity_find(username=name)
        if existing is not None:
            if options["exists_ok"] and existing.is_service_account:
                self.stderr.write(f"service account {name} exists already; nothing done")
                return
            raise CommandError(
                f"an identity named {name!r} exists already "
                "(--exists-ok skips an existing service account)"
            )
        _, issued = service_account_create(actor=None, name=name)
        self.emit_secret(
            secret=issued.plaintext,
            out_path=options["api_key_out"],
            what=f"the API key of service account {name}",
        )
