"""Audit actions of the federation app (kept beside it, like ``access.actions``; the audit API
filters on the string either way)."""

from enum import StrEnum


class FederationAction(StrEnum):
    TRUSTED_ISSUER_DEACTIVATED = "trusted_issuer.deactivated"
    TRUSTED_ISSUER_REACTIVATED = "trusted_issuer.reactivated"
    SERVICE_ACCOUNT_UNBOUND = "service_account.unbound"
