"""Authentication (3002): sign-ins and outs, token minting and exchange, gateway sessions
starting and ending, refused connections and MCP requests, rate-limited attempts."""

from __future__ import annotations

from typing import Any

from controlplane.audit.export.ocsf.common import (
    OTHER,
    Entry,
    Event,
    payload_identity,
    service_of,
    src_endpoint,
    status_of,
    user_of,
)

AUTH_PROTOCOLS = {"oidc": (4, "OpenID"), "saml": (5, "SAML"), "oauth": (6, "OAUTH 2.0")}


def authentication(
    entry: Entry, *, activity: tuple[int, str], failed: bool, protocol: str = "", user: Any = None
) -> Event:
    payload = entry.get("payload") or {}
    protocol_id, protocol_name = AUTH_PROTOCOLS.get(protocol, (OTHER, protocol or "Other"))
    return {
        "class_uid": 3002,
        "class_name": "Authentication",
        "category_name": "Identity & Access Management",
        "activity_id": activity[0],
        "activity_name": activity[1],
        "user": user or user_of(entry.get("actor")),
        "service": service_of(entry),
        "auth_protocol_id": protocol_id,
        "auth_protocol": protocol_name,
        **status_of(failed, str(payload.get("reason") or payload.get("message") or "")),
    }


LOGON, LOGOFF = (1, "Logon"), (2, "Logoff")


def signed_in(entry: Entry) -> Event:
    method = str((entry.get("payload") or {}).get("method", ""))
    return authentication(entry, activity=LOGON, failed=False, protocol=method)


def sign_in_refused(entry: Entry) -> Event:
    payload = entry.get("payload") or {}
    user = {"name": payload.get("subject") or "unknown", "type": "external", "type_id": 0}
    method = str(payload.get("method", ""))
    return authentication(entry, activity=LOGON, failed=True, protocol=method, user=user)


def signed_out(entry: Entry) -> Event:
    return authentication(entry, activity=LOGOFF, failed=False)


def token_minted(entry: Entry) -> Event:
    activity = (OTHER, "Token Minted")
    user = payload_identity(entry)
    return authentication(entry, activity=activity, failed=False, protocol="oauth", user=user)


def token_exchanged(entry: Entry) -> Event:
    activity = (OTHER, "Token Exchange")
    return authentication(entry, activity=activity, failed=False, protocol="oauth")


def token_exchange_refused(entry: Entry) -> Event:
    activity = (OTHER, "Token Exchange")
    return authentication(entry, activity=activity, failed=True, protocol="oauth")


def gateway_logon(entry: Entry) -> Event:
    event = authentication(entry, activity=LOGON, failed=False, protocol="gateway token")
    return {**event, "src_endpoint": src_endpoint(entry), "is_remote": True}


def gateway_logoff(entry: Entry) -> Event:
    return authentication(entry, activity=LOGOFF, failed=False, protocol="gateway token")


def mcp_auth_refused(entry: Entry) -> Event:
    # A request to the MCP server without an acceptable bearer token (gateway or IdP).
    event = authentication(entry, activity=LOGON, failed=True, protocol="bearer token")
    return {**event, "src_endpoint": src_endpoint(entry), "is_remote": True}


def connection_refused(entry: Entry) -> Event:
    event = authentication(entry, activity=LOGON, failed=True, protocol="gateway token")
    return {**event, "src_endpoint": src_endpoint(entry), "is_remote": True}


def rate_limited(entry: Entry) -> Event:
    # A sign-in or token request refused for arriving too fast: a failed logon attempt.
    activity = (OTHER, "Rate Limited")
    return authentication(entry, activity=activity, failed=True)
