"""``manage.py rotate_log_key``: prints the new log key's vkey."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from controlplane.audit.checkpoints import LogKeyRotationRefused, log_key_rotate


class Command(BaseCommand):
    help = (
        "Sign audit-log checkpoints with a new generated key from now on; the old public key "
        "stays published (GET /api/v1/audit/keys). Prints the new vkey."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            key = log_key_rotate(actor=None)
        except LogKeyRotationRefused as exc:
            raise CommandError(f"{exc}: set a new key there instead") from None
        self.stdout.write(key.vkey)
