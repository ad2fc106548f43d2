"""Writes for federation (trusted issuers, bindings) and the mapping from a verified
external token to a Gatehouse identity."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from controlplane.audit.actions import ControlPlaneAction
from controlplane.audit.services import audit_event_record
from controlplane.crypto import encrypt
from controlplane.federation.actions import FederationAction
from controlplane.federation.fetch import url_check
from controlplane.federation.models import (
    ALLOWED_ALGORITHMS,
    MAX_LEEWAY_SECONDS,
    ServiceAccountBinding,
    TrustedIssuer,
)
from controlplane.federation.verification import ExternalTokenRejected, external_subject
from controlplane.identities.models import ExternalIdentity, User


def trusted_issuer_create(
    *,
    actor: User | None,
    name: str,
    issuer: str,
    audience: str,
    algorithms: Sequence[str],
    jwks_url: str = "",
    introspection_url: str = "",
    introspection_client_id: str = "",
    introspection_client_secret: str = "",
    leeway_seconds: int = 30,
) -> TrustedIssuer:
    """Trust ``issuer``'s tokens. Only asymmetric algorithms are allowed; URLs must be
    https (http only on loopback); the introspection client secret is stored encrypted."""
    _issuer_fields_check(
        issuer=issuer,
        audience=audience,
        algorithms=algorithms,
        urls={"jwks_url": jwks_url, "introspection_url": introspection_url},
        leeway_seconds=leeway_seconds,
    )
    _introspection_check(introspection_url, introspection_client_id, introspection_client_secret)
    with transaction.atomic():
        _unique_check(name=name, issuer=issuer, introspecting=bool(introspection_url))
        trusted = TrustedIssuer.objects.create(
            name=name,
            issuer=issuer,
            audience=audience,
            algorithms=list(dict.fromkeys(algorithms)),
            jwks_url=jwks_url,
            introspection_url=introspection_url,
            introspection_client_id=introspection_client_id,
            introspection_client_secret_ciphertext=(
                encrypt(introspection_client_secret) if introspection_client_secret else ""
            ),
            leeway_seconds=leeway_seconds,
        )
        audit_event_record(
            actor=actor,
            action=ControlPlaneAction.TRUSTED_ISSUER_CREATED,
            payload=_issuer_payload(trusted),
        )
    return trusted


def service_account_binding_create(
    *, actor: User | None, issuer: TrustedIssuer, subject: str, service_account: User
) -> ServiceAccountBinding:
    """Let tokens from ``issuer`` about ``subject`` (its ``sub``, or ``client_id`` when it
    has none) authenticate as ``service_account``."""
    if not service_account.is_service_account:
        raise ValidationError({"service_account": ["only service accounts can be bound"]})
    if not subject or len(subject) > 255:
        raise ValidationError({"subject": ["must be 1 to 255 characters"]})
    with transaction.atomic():
        if ServiceAccountBinding.objects.filter(issuer=issuer, subject=subject).exists():
            raise ValidationError({"subject": [f"{subject!r} is already bound at {issuer.name}"]})
        binding = ServiceAccountBinding.objects.create(
            issuer=issuer, subject=subject, service_account=service_account
        )
        audit_event_record(
            actor=actor,
            action=ControlPlaneAction.SERVICE_ACCOUNT_BOUND,
            payload=_binding_payload(binding),
        )
    return binding


def trusted_issuer_deactivate(*, actor: User | None, issuer: TrustedIssuer) -> TrustedIssuer:
    """Stop trusting ``issuer``: its tokens are refused from the next exchange on (bindings
    are kept for a reactivation). Deactivating twice changes nothing."""
    return _issuer_activity_set(actor=actor, issuer=issuer, active=False)


def trusted_issuer_reactivate(*, actor: User | None, issuer: TrustedIssuer) -> TrustedIssuer:
    """Trust ``issuer`` again, unless another active issuer introspects and this one does
    too (an opaque token could not say which one it came from)."""
    return _issuer_activity_set(actor=actor, issuer=issuer, active=True)


def service_account_binding_delete(*, actor: User | None, binding: ServiceAccountBinding) -> None:
    """Remove a binding: the external subject no longer exchanges its tokens for the service
    account's, from the next exchange on."""
    with transaction.atomic():
        binding = (
            ServiceAccountBinding.objects.select_for_update()
            .select_related("issuer", "service_account")
            .get(pk=binding.pk)
        )
        binding.delete()
        audit_event_record(
            actor=actor,
            action=FederationAction.SERVICE_ACCOUNT_UNBOUND,
            payload=_binding_payload(binding),
        )


def _issuer_activity_set(
    *, actor: User | None, issuer: TrustedIssuer, active: bool
) -> TrustedIssuer:
    with transaction.atomic():
        issuer = TrustedIssuer.objects.select_for_update().get(pk=issuer.pk)
        if issuer.is_active == active:
            return issuer
        if active and issuer.introspection_url:
            _sole_introspector_check(issuer)
        issuer.is_active = active
        issuer.save(update_fields=["is_active"])
        action = (
            FederationAction.TRUSTED_ISSUER_REACTIVATED
            if active
            else FederationAction.TRUSTED_ISSUER_DEACTIVATED
        )
        audit_event_record(actor=actor, action=action, payload=_issuer_payload(issuer))
    return issuer


def _sole_introspector_check(issuer: TrustedIssuer) -> None:
    others = TrustedIssuer.objects.active().exclude(pk=issuer.pk).exclude(introspection_url="")
    if others.exists():
        raise ValidationError({"introspection_url": ["another active issuer already introspects"]})


def service_account_for_external(*, issuer: TrustedIssuer, claims: Mapping[str, Any]) -> User:
    """The active service account bound to the verified token's subject; raises
    ExternalTokenRejected when none is."""
    subject = external_subject(claims)
    binding = (
        ServiceAccountBinding.objects.select_related("service_account")
        .filter(issuer=issuer, subject=subject)
        .first()
    )
    if binding is None or not binding.service_account.is_active:
        raise ExternalTokenRejected(
            "token subject is not bound to a service account", issuer=issuer
        )
    return binding.service_account


def person_for_external(*, issuer: TrustedIssuer, claims: Mapping[str, Any]) -> User:
    """The active person (kind user) whose own verified token this is, found by the stable
    (issuer, sub) link their OIDC sign-in recorded (``identities.ExternalIdentity``); never by
    a username or email claim, which the IdP lets change. Raises ExternalTokenRejected."""
    subject = claims.get("sub")
    link = (
        ExternalIdentity.objects.select_related("user")
        .filter(issuer=issuer.issuer, subject=subject)
        .first()
        if isinstance(subject, str) and subject
        else None
    )
    person = link.user if link is not None else None
    if person is None or person.kind != User.Kind.USER or not person.is_active:
        raise ExternalTokenRejected("actor token names no known person", issuer=issuer)
    return person


def _issuer_fields_check(
    *,
    issuer: str,
    audience: str,
    algorithms: Sequence[str],
    urls: Mapping[str, str],
    leeway_seconds: int,
) -> None:
    errors: dict[str, list[str]] = {}
    for field, url in {"issuer": issuer, **urls}.items():
        try:
            if url or field == "issuer":
                url_check(url)
        except ValueError as exc:
            errors[field] = [str(exc)]
    if not audience:
        errors["audience"] = ["is required"]
    refused = [a for a in algorithms if a not in ALLOWED_ALGORITHMS]
    if not algorithms or refused:
        errors["algorithms"] = [f"choose from {', '.join(ALLOWED_ALGORITHMS)}"]
    if not 0 <= leeway_seconds <= MAX_LEEWAY_SECONDS:
        errors["leeway_seconds"] = [f"must be 0 to {MAX_LEEWAY_SECONDS}"]
    if errors:
        raise ValidationError(errors)


def _introspection_check(url: str, client_id: str, secret: str) -> None:
    if bool(url) != bool(client_id and secret):
        raise ValidationError(
            {"introspection_url": ["needs a client id and secret, and they need it"]}
        )


def _unique_check(*, name: str, issuer: str, introspecting: bool) -> None:
    if TrustedIssuer.objects.filter(name=name).exists():
        raise ValidationError({"name": [f"an issuer named {name!r} already exists"]})
    if TrustedIssuer.objects.filter(issuer=issuer).exists():
        raise ValidationError({"issuer": [f"{issuer!r} is already trusted"]})
    # An opaque token says nothing about where it came from; with two introspecting issuers
    # it would have to be shown to both, handing one IdP's tokens to the other.
    if introspecting and TrustedIssuer.objects.active().exclude(introspection_url="").exists():
        raise ValidationError({"introspection_url": ["another issuer already introspects"]})


def _issuer_payload(trusted: TrustedIssuer) -> dict[str, Any]:
    return {
        "name": trusted.name,
        "issuer": trusted.issuer,
        "audience": trusted.audience,
        "algorithms": trusted.algorithms,
        "jwks_url": trusted.jwks_url,
        "introspection_url": trusted.introspection_url,
        "leeway_seconds": trusted.leeway_seconds,
    }


def _binding_payload(binding: ServiceAccountBinding) -> dict[str, Any]:
    return {
        "issuer": binding.issuer.name,
        "subject": binding.subject,
        "identity": str(binding.service_account.pk),
        "identity_name": binding.service_account.username,
    }
