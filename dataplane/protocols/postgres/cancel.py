"""Cancel keys: the BackendKeyData the gateway hands each client, mapped to the upstream backend.

Clients never see the upstream backend's pid and secret. A CancelRequest arrives on a fresh
connection with no other credential, so the secret is compared in constant time and an
unknown key is ignored, as PostgreSQL does.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from dataplane.core.session import Session


@dataclass(frozen=True)
class CancelTarget:
    """Where a client's CancelRequest goes: the upstream backend behind our key."""

    session: Session
    host: str
    port: int
    upstream_pid: int
    upstream_secret: int


class CancelKeys:
    """The keys issued by one listener, by pid (unique among live sessions)."""

    def __init__(self) -> None:
        self._issued: dict[int, tuple[int, CancelTarget]] = {}

    def issue(self, target: CancelTarget) -> tuple[int, int]:
        """A fresh (pid, secret) for the client, remembered until withdrawn."""
        while True:
            pid = secrets.randbelow(2**31 - 2) + 1
            if pid not in self._issued:
                secret = secrets.randbits(32)
                self._issued[pid] = (secret, target)
                return pid, secret

    def withdraw(self, pid: int) -> None:
        self._issued.pop(pid, None)

    def find(self, pid: int, secret: int) -> CancelTarget | None:
        """The target for a CancelRequest's key, or None if it is not one we issued."""
        issued = self._issued.get(pid)
        if issued is None:
            return None
        expected, target = issued
        if not hmac.compare_digest(expected.to_bytes(4, "big"), secret.to_bytes(4, "big")):
            return None
        return target

    def __len__(self) -> int:
        return len(self._issued)
