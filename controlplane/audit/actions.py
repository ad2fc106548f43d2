"""The actions the control plane itself records; agents record ``dataplane.contract.Action``."""

from enum import StrEnum


class ControlPlaneAction(StrEnum):
    ADMIN_CREATED = "admin.created"
    SERVICE_ACCOUNT_CREATED = "service_account.created"
    API_KEY_CREATED = "api_key.created"
    API_KEY_REVOKED = "api_key.revoked"
    TOKEN_MINTED = "token.minted"
    TOKEN_EXCHANGED = "token.exchanged"
    TOKEN_EXCHANGE_REFUSED = "token.exchange_refused"
    TRUSTED_ISSUER_CREATED = "trusted_issuer.created"
    SERVICE_ACCOUNT_BOUND = "service_account.bound"
    SIGNING_KEY_CREATED = "signing_key.created"
    SIGNING_KEY_ROTATED = "signing_key.rotated"
    RESOURCE_CREATED = "resource.created"
    RESOURCE_UPDATED = "resource.updated"
    AGENT_REGISTERED = "agent.registered"
    AGENT_CONNECTED = "agent.connected"
    AGENT_DISCONNECTED = "agent.disconnected"
    GRANT_CREATED = "grant.created"
    GRANT_REVOKED = "grant.revoked"
    # One call of the exec API (the agent records the statement itself; this names the
    # caller, grant and outcome, with the statement's SHA-256 only).
    EXEC_CALL = "exec.call"
    # The log's own records: what the control plane noticed about its completeness and keys.
    AGENT_SEQ_GAP = "audit.agent_seq_gap"
    LOG_KEY_CREATED = "log_key.created"
    LOG_KEY_ROTATED = "log_key.rotated"
