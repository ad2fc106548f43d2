"""Rate limits of the credential endpoints (token exchange, token minting, password sign-in),
read from the environment; enforced by ``controlplane.identities.throttling``.

Each limit is a pair of fixed windows: at most ``burst`` attempts in any 10-second window and
``per_minute`` in any one-minute window. One pair applies per client address, another per
presented credential (an API key's prefix, a token's issuer and subject, a username). Zero
turns a limit off.
"""

from __future__ import annotations

from dataclasses import dataclass

from controlplane.config.env import env_int

BURST_WINDOW_SECONDS = 10
SUSTAINED_WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Limit:
    """How many attempts one subject (an address, a credential) may make per window."""

    per_minute: int
    burst: int

    def windows(self) -> list[tuple[int, int]]:
        """(window seconds, attempts allowed) for each limit that is on."""
        pairs = [(BURST_WINDOW_SECONDS, self.burst), (SUSTAINED_WINDOW_SECONDS, self.per_minute)]
        return [(seconds, allowed) for seconds, allowed in pairs if allowed > 0]


@dataclass(frozen=True)
class CredentialRateLimits:
    per_client: Limit
    per_credential: Limit
    trusted_proxies: int  # reverse proxies that append to X-Forwarded-For in front of us


def credential_rate_limits_from_env() -> CredentialRateLimits:
    """The GATEHOUSE_AUTH_RATE_* variables (see controlplane/README.md)."""
    return CredentialRateLimits(
        per_client=_limit("GATEHOUSE_AUTH_RATE_PER_MINUTE", "GATEHOUSE_AUTH_RATE_BURST"),
        per_credential=_limit(
            "GATEHOUSE_AUTH_RATE_CREDENTIAL_PER_MINUTE", "GATEHOUSE_AUTH_RATE_CREDENTIAL_BURST"
        ),
        trusted_proxies=env_int("GATEHOUSE_TRUSTED_PROXY_COUNT", 0, minimum=0, maximum=10),
    )


def _limit(per_minute_variable: str, burst_variable: str) -> Limit:
    return Limit(
        per_minute=env_int(per_minute_variable, 30, minimum=0),
        burst=env_int(burst_variable, 10, minimum=0),
    )
