"""``manage.py create_admin USERNAME [--email E] [--api-key-out FILE] [--exists-ok]``"""

from typing import Any

from django.core.management.base import CommandError, CommandParser

from controlplane.cli import ServiceCommand
from controlplane.identities.selectors import identity_find
from controlplane.identities.services import admin_create


class Command(ServiceCommand):
    help = (
        "Create an administrator and print its first API key (on stdout, or into a 0600 file "
        "with --api-key-out). Password login comes later."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument(
            "--api-key-out", metavar="FILE", help="write the API key here (mode 0600)"
        )
        parser.add_argument(
            "--exists-ok",
            action="store_true",
            help="if the user exists already, do nothing and exit 0 (no new key is issued)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"]
        existing = identity_find(username=username)
        if existing is not None:
            if options["exists_ok"] and existing.is_superuser:
                self.stderr.write(f"administrator {username} exists already; nothing done")
                return
            raise CommandError(
                f"an identity named {username!r} exists already "
                "(--exists-ok skips an existing administrator)"
            )
        _, issued = admin_create(actor=None, username=username, email=options["email"])
        self.emit_secret(
            secret=issued.plaintext,
            out_path=options["api_key_out"],
            what=f"the API key of administrator {username}",
        )
