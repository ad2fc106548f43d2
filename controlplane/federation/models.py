"""Trusted external token issuers and the service accounts their clients stand for."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

# Asymmetric algorithms only: a shared-secret (HS*) or unsigned ("none") token from an IdP
# would let anyone holding the secret, or anyone at all, mint identities.
ALLOWED_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA")
MAX_LEEWAY_SECONDS = 300


class TrustedIssuerQuerySet(models.QuerySet["TrustedIssuer"]):
    def active(self) -> TrustedIssuerQuerySet:
        return self.filter(is_active=True)


class TrustedIssuer(models.Model):
    """An OAuth 2.0 / OIDC issuer whose access tokens may be exchanged for gateway tokens.

    JWTs are verified offline against the issuer's JWKS (``jwks_url``, or found through
    OIDC discovery when empty); opaque tokens are checked by RFC 7662 introspection when an
    introspection endpoint is configured.
    """

    name = models.SlugField(max_length=64, unique=True)
    issuer = models.CharField(max_length=500, unique=True, help_text="The exact `iss` value.")
    jwks_url = models.CharField(max_length=500, blank=True)
    algorithms = models.JSONField(default=list)
    audience = models.CharField(max_length=500, help_text="Must appear in the token's `aud`.")
    introspection_url = models.CharField(max_length=500, blank=True)
    introspection_client_id = models.CharField(max_length=255, blank=True)
    introspection_client_secret_ciphertext = models.TextField(blank=True)
    leeway_seconds = models.PositiveIntegerField(default=30)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TrustedIssuerQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.issuer})"


class ServiceAccountBinding(models.Model):
    """External subject (the token's ``sub``, or ``client_id`` when it has no ``sub``) at
    one issuer → the service account it authenticates as."""

    issuer = models.ForeignKey(TrustedIssuer, on_delete=models.CASCADE, related_name="bindings")
    subject = models.CharField(max_length=255)
    service_account = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="external_bindings"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["issuer__name", "subject"]
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="binding_issuer_subject")
        ]

    def __str__(self) -> str:
        return f"{self.issuer.name}:{self.subject} → {self.service_account}"
