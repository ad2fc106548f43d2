"""Audit actions recorded by the masking app (kept beside the app, like ``policies.actions``)."""

from enum import StrEnum


class MaskingAction(StrEnum):
    MASKING_POLICY_CREATED = "masking_policy.created"
    MASKING_POLICY_UPDATED = "masking_policy.updated"
    MASKING_POLICY_DELETED = "masking_policy.deleted"
    # The deployment's masking key was generated (never its value).
    MASKING_KEY_CREATED = "masking_key.created"
