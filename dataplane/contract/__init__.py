"""The wire contract between control plane and agents.

This package is the only part of ``dataplane`` the control plane may import. Every format
carries a version number from day one; readers upgrade older versions in one place
(``upgrade_*`` below) and refuse newer ones they cannot read.
"""

from dataplane.contract.envelopes import (
    WIRE_VERSION,
    ContractError,
    Envelope,
    decode_envelope,
    encode_envelope,
)
from dataplane.contract.events import (
    AUDIT_EVENT_FORMAT,
    Action,
    Actor,
    AuditEvent,
)
from dataplane.contract.snapshot import (
    SNAPSHOT_FORMAT,
    TOKEN_AUDIENCE,
    TOKEN_ISSUER,
    CustomPattern,
    GrantScope,
    GrantSpec,
    GuardrailProfile,
    HttpAuth,
    HttpRoute,
    HttpSettings,
    LlmApi,
    MaskingFailure,
    MaskingProfile,
    PromptPrivacy,
    ResourceSpec,
    Snapshot,
    TokenKey,
    http_settings_from_dict,
)

__all__ = [
    "AUDIT_EVENT_FORMAT",
    "SNAPSHOT_FORMAT",
    "TOKEN_AUDIENCE",
    "TOKEN_ISSUER",
    "WIRE_VERSION",
    "Action",
    "Actor",
    "AuditEvent",
    "ContractError",
    "CustomPattern",
    "Envelope",
    "GrantScope",
    "GrantSpec",
    "GuardrailProfile",
    "HttpAuth",
    "HttpRoute",
    "HttpSettings",
    "LlmApi",
    "MaskingFailure",
    "MaskingProfile",
    "PromptPrivacy",
    "ResourceSpec",
    "Snapshot",
    "TokenKey",
    "decode_envelope",
    "encode_envelope",
    "http_settings_from_dict",
]
