"""``manage.py rotate_token_key``"""

from typing import Any

from controlplane.cli import ServiceCommand
from controlplane.identities.tokens import signing_key_rotate


class Command(ServiceCommand):
    help = (
        "Start signing gateway tokens with a new key. Tokens signed by the old key stay "
        "valid until they expire. Prints the new key id."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        key = signing_key_rotate(actor=None)
        self.stdout.write(key.kid)
