"""The names both halves agree on for masking: built-in entities, strategies and custom
pattern validators. The control plane validates policies against these; the agent's
masking engine must know every one of them (its tests check that it does)."""

from __future__ import annotations

# The entities the agent's built-in recognisers detect.
BUILTIN_ENTITIES: tuple[str, ...] = (
    "API_KEY",
    "AWS_ACCESS_KEY",
    "BEARER_TOKEN",
    "CREDIT_CARD",
    "DATE_OF_BIRTH",
    "EMAIL_ADDRESS",
    "IBAN_CODE",
    "IP_ADDRESS",
    "JWT",
    "MAC_ADDRESS",
    "PHONE_NUMBER",
    "PRIVATE_KEY",
    "URL",
    "US_DRIVER_LICENSE",
    "US_ITIN",
    "US_PASSPORT",
    "US_SSN",
)

# The entity a deny-list term is reported as.
DENY_LIST_ENTITY = "DENY_LIST"

# How a value is masked. "hash" and "format_preserving" need the deployment's masking key.
STRATEGIES: tuple[str, ...] = ("redact", "partial", "hash", "format_preserving")
KEYED_STRATEGIES: frozenset[str] = frozenset({"hash", "format_preserving"})

# Checks a custom pattern may name for its matches ("" = none).
CUSTOM_PATTERN_VALIDATORS: tuple[str, ...] = (
    "luhn",
    "credit_card",
    "iban",
    "ssn",
    "itin",
    "ipv4",
    "ipv6",
    "mac",
    "jwt",
    "email",
    "phone",
    "date_of_birth",
)
