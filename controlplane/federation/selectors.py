"""Reads for federation."""

from __future__ import annotations

from django.db.models import QuerySet

from controlplane.federation.models import ServiceAccountBinding, TrustedIssuer


def trusted_issuers_list() -> QuerySet[TrustedIssuer]:
    """Every trusted issuer, by name."""
    return TrustedIssuer.objects.order_by("name")


def trusted_issuer_get(*, name: str) -> TrustedIssuer:
    """The issuer called ``name``; raises TrustedIssuer.DoesNotExist."""
    return TrustedIssuer.objects.get(name=name)


def service_account_bindings_list(*, issuer: TrustedIssuer) -> QuerySet[ServiceAccountBinding]:
    """The bindings of ``issuer``, by subject."""
    return (
        ServiceAccountBinding.objects.filter(issuer=issuer)
        .select_related("issuer", "service_account")
        .order_by("subject")
    )


def service_account_binding_get(*, issuer: TrustedIssuer, subject: str) -> ServiceAccountBinding:
    """The binding of ``subject`` at ``issuer``; raises ServiceAccountBinding.DoesNotExist."""
    return ServiceAccountBinding.objects.select_related("issuer", "service_account").get(
        issuer=issuer, subject=subject
    )
