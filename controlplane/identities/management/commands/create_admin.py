"""``manage.py create_admin USERNAME [--email E] [--api-key-out FILE] [--exists-ok]
[--password-stdin]``"""

import sys
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import transaction

from controlplane.cli import ServiceCommand
from controlplane.identities.local_login import admin_password_set
from controlplane.identities.selectors import identity_find
from controlplane.identities.services import admin_create


class Command(ServiceCommand):
    help = (
        "Create an administrator and print its first API key (on stdout, or into a 0600 file "
        "with --api-key-out). --password-stdin also sets a password for local sign-in "
        "(used only when GATEHOUSE_LOCAL_LOGIN=true)."
    )
    stealth_options = ("stdin",)

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
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="read a password for local sign-in from stdin (with --exists-ok: set it on "
            "the existing administrator)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username = options["username"]
        password = self._password(options) if options["password_stdin"] else None
        existing = identity_find(username=username)
        if existing is not None:
            if options["exists_ok"] and existing.is_superuser:
                if password is not None:
                    admin_password_set(actor=None, user=existing, password=password)
                done = "password set" if password is not None else "nothing done"
                self.stderr.write(f"administrator {username} exists already; {done}")
                return
            raise CommandError(
                f"an identity named {username!r} exists already "
                "(--exists-ok skips an existing administrator)"
            )
        with transaction.atomic():  # a rejected password leaves no administrator behind
            user, issued = admin_create(actor=None, username=username, email=options["email"])
            if password is not None:
                admin_password_set(actor=None, user=user, password=password)
        self.emit_secret(
            secret=issued.plaintext,
            out_path=options["api_key_out"],
            what=f"the API key of administrator {username}",
        )

    def _password(self, options: dict[str, Any]) -> str:
        password = options.get("stdin", sys.stdin).read().rstrip("\r\n")
        if not password:
            raise CommandError("--password-stdin: no password on stdin")
        return password
