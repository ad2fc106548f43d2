"""``manage.py revoke_grant GRANT_ID``"""

from typing import Any
from uuid import UUID

from django.core.management.base import CommandError, CommandParser

from controlplane.access.models import Grant
from controlplane.access.selectors import grant_get
from controlplane.access.services import grant_revoke
from controlplane.cli import ServiceCommand


class Command(ServiceCommand):
    help = "Revoke a grant now. Revoking an already revoked grant is not an error."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("grant_id")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            grant = grant_get(grant_id=UUID(options["grant_id"]))
        except (ValueError, Grant.DoesNotExist):
            raise CommandError(f"no grant with id {options['grant_id']!r}") from None
        grant = grant_revoke(actor=None, grant=grant)
        self.stderr.write(f"grant {grant.pk} revoked at {grant.revoked_at.isoformat()}")
