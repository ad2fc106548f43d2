"""Masking policies: which results each identity sees masked, and how.

A policy names who it applies to (people, service accounts or both, optionally only
members of some groups) and where (one resource or every resource), and carries a masking
profile (the contract's ``MaskingProfile`` fields). For each grant the highest-priority
enabled policy that matches decides its sessions' masking (see ``selectors``); a grant no
policy matches is unmasked.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from controlplane.scoped_rules.models import scoped_rule_model
from dataplane.contract import MaskingFailure
from dataplane.contract.masking import STRATEGIES


class MaskingPolicy(scoped_rule_model(related_name="masking_policies")):
    """Who and where (``scoped_rules``) and a masking profile. Agents see the name
    (GrantSpec.masking, audit payloads' "profile")."""

    class OnFailure(models.TextChoices):
        REDACT = MaskingFailure.REDACT.value, "Redact the value, go on"
        ERROR = MaskingFailure.ERROR.value, "End the statement with an error"

    Strategy = models.TextChoices("Strategy", [(s.upper(), s) for s in STRATEGIES])

    # The masking profile (dataplane.contract.MaskingProfile), checked by masking_policy_set.
    default_strategy = models.CharField(max_length=32, choices=Strategy.choices, default="redact")
    strategies = models.JSONField(default=dict, blank=True)  # entity -> strategy
    entities = models.JSONField(default=list, blank=True)  # [] = every built-in entity
    column_rules = models.JSONField(default=dict, blank=True)  # column -> entity
    json_key_rules = models.JSONField(default=dict, blank=True)  # dotted path -> entity
    deny_list = models.JSONField(default=list, blank=True)
    custom_patterns = models.JSONField(default=list, blank=True)
    on_failure = models.CharField(max_length=16, choices=OnFailure.choices, default="redact")
    statement_budget_ms = models.PositiveIntegerField(default=5000)
    max_value_bytes = models.PositiveIntegerField(default=1024 * 1024)

    class Meta:
        verbose_name_plural = "masking policies"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(statement_budget_ms__gte=1), name="masking_policy_budget_positive"
            ),
            models.CheckConstraint(
                condition=Q(max_value_bytes__gte=1), name="masking_policy_max_value_positive"
            ),
        ]


class MaskingKey(models.Model):
    """The deployment's key for keyed masking (hash, format_preserving): one row, made on
    first use, Fernet-encrypted at rest like upstream passwords. Every agent gets the same
    key, so one value has one pseudonym everywhere and joins across results still work."""

    SINGLETON = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON)
    ciphertext = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="masking_key_singleton"),
        ]

    def __str__(self) -> str:  # never the key
        return f"masking key (created {self.created_at:%Y-%m-%d})"
