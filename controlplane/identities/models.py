"""Identities (people and service accounts), their API keys, and the keys that sign
gateway tokens."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone


class User(AbstractUser):
    """A person or a service account (an AI agent, a CI job). ``str(id)`` is the ``sub``
    of every gateway token minted for it."""

    class Kind(models.TextChoices):
        USER = "user", "User"
        SERVICE_ACCOUNT = "service_account", "Service account"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=32, choices=Kind.choices, default=Kind.USER)

    @property
    def is_service_account(self) -> bool:
        return self.kind == self.Kind.SERVICE_ACCOUNT


class ApiKeyQuerySet(models.QuerySet["ApiKey"]):
    def usable(self) -> ApiKeyQuerySet:
        """Keys that are not revoked and belong to an active identity."""
        return self.filter(revoked_at__isnull=True, user__is_active=True)


class ApiKey(models.Model):
    """A long-lived credential; only its prefix and a hash are stored (see controlplane.bearer)."""

    SCHEME = "gh"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    prefix = models.CharField(max_length=16, unique=True)
    hashed_secret = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.SCHEME}_{self.prefix}_… ({self.user})"


class SigningKeyQuerySet(models.QuerySet["SigningKey"]):
    def active(self) -> SigningKeyQuerySet:
        """Keys that still sign new tokens (normally exactly one)."""
        return self.filter(retired_at__isnull=True)

    def verifying(self, *, at: datetime, max_token_ttl: timedelta) -> SigningKeyQuerySet:
        """Keys agents must still accept: active ones, and retired ones that may have
        signed a token which has not expired yet."""
        return self.filter(Q(retired_at__isnull=True) | Q(retired_at__gt=at - max_token_ttl))


class SigningKey(models.Model):
    """An Ed25519 key pair that signs gateway tokens; the private half is encrypted at rest."""

    ALGORITHM = "EdDSA"

    kid = models.CharField(max_length=64, unique=True)
    private_key_ciphertext = models.TextField()
    public_key_pem = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)

    objects = SigningKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.kid


class ExternalIdentity(models.Model):
    """The stable link between a person at an identity provider and their Gatehouse user.

    OIDC's ``sub`` is unique and never reassigned only within one issuer, so the pair is the
    key; usernames and emails can change at the provider and are never used to match.
    """

    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="external_identities")
    created_at = models.DateTimeField(default=timezone.now)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="external_identity_unique")
        ]
        verbose_name_plural = "external identities"

    def __str__(self) -> str:
        return f"{self.subject} at {self.issuer}"
