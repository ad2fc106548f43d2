"""Guards for the rule that every state change and its audit event share one transaction."""

from __future__ import annotations

from django.db import transaction


class OutsideTransaction(RuntimeError):
    """A write that must be part of a service's transaction ran outside one."""


def require_transaction(what: str) -> None:
    """Raise unless the caller is inside ``transaction.atomic`` (i.e. inside a service)."""
    if not transaction.get_connection().in_atomic_block:
        raise OutsideTransaction(f"{what} must run inside the calling service's transaction")
