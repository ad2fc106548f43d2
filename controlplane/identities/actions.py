"""Audit actions of the identities app added after ``controlplane.audit.actions`` (kept here
so changes stay inside the app, like ``signin.SignInAction``; the audit API filters on the
string either way)."""

from enum import StrEnum


class IdentityAction(StrEnum):
    SERVICE_ACCOUNT_DEACTIVATED = "service_account.deactivated"
    SERVICE_ACCOUNT_REACTIVATED = "service_account.reactivated"
    # A credential endpoint refused a caller for asking too often (identities/throttling.py).
    AUTH_RATE_LIMITED = "auth.rate_limited"
