"""Resources: the upstream targets an agent serves."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from controlplane.resources.protocols import protocol_choices


class Resource(models.Model):
    """An upstream (a PostgreSQL database for now). Clients name it as their dbname; the
    agent connects upstream with credentials the client never sees."""

    class Tls(models.TextChoices):
        DISABLE = "disable", "Disable"
        PREFER = "prefer", "Prefer"
        REQUIRE = "require", "Require"

    # 63: the longest identifier PostgreSQL accepts, and clients send this as dbname.
    name = models.SlugField(max_length=63, unique=True)
    protocol = models.CharField(max_length=32, choices=protocol_choices)
    host = models.CharField(max_length=255)
    port = models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(65535)])
    database = models.CharField(max_length=63)
    upstream_user = models.CharField(max_length=63)
    # Fernet ciphertext (controlplane.crypto); read it through resource_upstream_password.
    upstream_password_ciphertext = models.TextField()
    upstream_tls = models.CharField(max_length=16, choices=Tls.choices, default=Tls.PREFER)
    agent = models.ForeignKey("agents.Agent", on_delete=models.PROTECT, related_name="resources")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
