"""What the federation commands share: finding an issuer by name, or exiting cleanly."""

from django.core.management.base import CommandError

from controlplane.federation.models import TrustedIssuer
from controlplane.federation.selectors import trusted_issuer_get


def issuer_named(name: str) -> TrustedIssuer:
    """The trusted issuer called ``name``; a CommandError when there is none."""
    try:
        return trusted_issuer_get(name=name)
    except TrustedIssuer.DoesNotExist:
        raise CommandError(f"no trusted issuer named {name!r}") from None
