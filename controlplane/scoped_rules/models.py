"""The fields every scoped rule has: who, where, priority, enabled, and who changed it."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils import timezone


class AppliesTo(models.TextChoices):
    PEOPLE = "people", "People"
    SERVICE_ACCOUNTS = "service_accounts", "Service accounts"
    EVERYONE = "everyone", "People and service accounts"


def scoped_rule_model(*, related_name: str) -> type[models.Model]:
    """An abstract model with the scoped rule fields. ``related_name`` names the reverse
    relations (``resource.<related_name>``, ``group.<related_name>``,
    ``user.<related_name>_created`` and ``_updated``): each app keeps its own, which its
    migrations already have; Django's ``%(class)s`` placeholders could not spell them."""

    class ScopedRule(models.Model):
        AppliesTo = AppliesTo

        # Audit events (and, for policies, agents) know a rule by this name.
        name = models.SlugField(max_length=63, unique=True)
        description = models.TextField(blank=True)
        # None: every resource.
        resource = models.ForeignKey(
            "resources.Resource",
            on_delete=models.CASCADE,
            null=True,
            blank=True,
            related_name=related_name,
        )
        applies_to = models.CharField(
            max_length=16, choices=AppliesTo.choices, default=AppliesTo.EVERYONE
        )
        # Empty: every identity of ``applies_to``; otherwise members of any of these groups.
        groups = models.ManyToManyField(Group, blank=True, related_name=related_name)
        priority = models.IntegerField(default=0)
        enabled = models.BooleanField(default=True)

        created_at = models.DateTimeField(default=timezone.now)
        updated_at = models.DateTimeField(default=timezone.now)
        created_by = models.ForeignKey(
            settings.AUTH_USER_MODEL,
            on_delete=models.SET_NULL,
            null=True,
            blank=True,
            related_name=f"{related_name}_created",
        )
        updated_by = models.ForeignKey(
            settings.AUTH_USER_MODEL,
            on_delete=models.SET_NULL,
            null=True,
            blank=True,
            related_name=f"{related_name}_updated",
        )

        class Meta:
            abstract = True

        def __str__(self) -> str:
            return self.name

    return ScopedRule
