"""What the service-account commands share: finding one by name, or exiting cleanly."""

from django.core.management.base import CommandError

from controlplane.identities.models import User
from controlplane.identities.selectors import service_account_get


def service_account_named(name: str) -> User:
    """The service account called ``name``; a CommandError when there is none."""
    try:
        return service_account_get(name=name)
    except User.DoesNotExist:
        raise CommandError(f"no service account named {name!r}") from None
