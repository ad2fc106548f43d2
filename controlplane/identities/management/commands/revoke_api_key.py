"""``manage.py revoke_api_key PREFIX``"""

from typing import Any

from django.core.management.base import CommandError, CommandParser

from controlplane.cli import ServiceCommand
from controlplane.identities.models import ApiKey
from controlplane.identities.selectors import api_key_get
from controlplane.identities.services import api_key_revoke


class Command(ServiceCommand):
    help = "Revoke an API key by its prefix (gh_<prefix>_...); it is refused at once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("prefix", help="the key's prefix, with or without 'gh_'")

    def handle(self, *args: Any, **options: Any) -> None:
        prefix = options["prefix"].removeprefix(f"{ApiKey.SCHEME}_")
        try:
            api_key = api_key_get(prefix=prefix)
        except ApiKey.DoesNotExist:
            raise CommandError(f"no API key with prefix {prefix!r}") from None
        api_key = api_key_revoke(actor=None, api_key=api_key)
        self.stderr.write(f"API key {prefix} of {api_key.user.username} is revoked")
