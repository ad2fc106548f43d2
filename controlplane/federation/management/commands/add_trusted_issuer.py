"""``manage.py add_trusted_issuer NAME --issuer URL --audience AUD --algorithm ALG ...``"""

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from controlplane.cli import ServiceCommand
from controlplane.federation.models import ALLOWED_ALGORITHMS, TrustedIssuer
from controlplane.federation.services import trusted_issuer_create


class Command(ServiceCommand):
    help = "Trust an external IdP's access tokens for the token exchange."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--issuer", required=True, help="the exact iss value")
        parser.add_argument("--audience", required=True)
        parser.add_argument(
            "--algorithm", action="append", required=True, choices=ALLOWED_ALGORITHMS
        )
        parser.add_argument("--jwks-url", default="", help="default: OIDC discovery")
        parser.add_argument("--introspection-url", default="")
        parser.add_argument("--introspection-client-id", default="")
        parser.add_argument("--introspection-client-secret-file", metavar="FILE")
        parser.add_argument("--leeway", type=int, default=30, metavar="SECONDS")
        parser.add_argument("--exists-ok", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["exists_ok"] and TrustedIssuer.objects.filter(name=options["name"]).exists():
            self.stderr.write(f"trusted issuer {options['name']!r} exists; left as it is")
            return
        trusted = trusted_issuer_create(
            actor=None,
            name=options["name"],
            issuer=options["issuer"],
            audience=options["audience"],
            algorithms=options["algorithm"],
            jwks_url=options["jwks_url"],
            introspection_url=options["introspection_url"],
            introspection_client_id=options["introspection_client_id"],
            introspection_client_secret=_secret(options["introspection_client_secret_file"]),
            leeway_seconds=options["leeway"],
        )
        self.stderr.write(f"trusting {trusted.issuer} as {trusted.name}")


def _secret(path: str | None) -> str:
    if not path:
        return ""
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from None
