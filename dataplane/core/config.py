"""The agent's current configuration: the latest snapshot the control plane pushed.

Everything the hot path asks (does this resource exist, does this identity hold a grant on
it, which keys verify tokens) is answered from indexes built once per snapshot, so each
question is a dictionary lookup.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from dataplane.contract import TOKEN_AUDIENCE, TOKEN_ISSUER, GrantSpec, ResourceSpec, Snapshot
from dataplane.core.tokens import TokenVerifier

log = logging.getLogger("gatehouse.config")

SnapshotCallback = Callable[[Snapshot], None]


class ConfigStore:
    """Holds the newest snapshot and the lookups derived from it.

    Before the first snapshot there are no resources and no grants, and the token verifier
    knows no keys, so every check fails closed.
    """

    def __init__(self) -> None:
        self._snapshot: Snapshot | None = None
        self._resources: dict[str, ResourceSpec] = {}
        # (identity, resource) -> the grant on it that expires last; if that one is expired,
        # every grant for the pair is.
        self._grants: dict[tuple[str, str], list[GrantSpec]] = {}
        self._verifier = TokenVerifier((), issuer=TOKEN_ISSUER, audience=TOKEN_AUDIENCE)
        self._ready = asyncio.Event()
        self._subscribers: list[SnapshotCallback] = []

    @property
    def snapshot(self) -> Snapshot | None:
        """The snapshot in force, or None before the first one arrived."""
        return self._snapshot

    @property
    def revision(self) -> int:
        """The revision in force; 0 before the first snapshot."""
        return self._snapshot.revision if self._snapshot is not None else 0

    @property
    def token_verifier(self) -> TokenVerifier:
        """Verifies gateway tokens with the keys, issuer and audience of the current snapshot."""
        return self._verifier

    def update(self, snapshot: Snapshot) -> bool:
        """Apply ``snapshot`` unless it is older than the one in force; return whether applied.

        A snapshot with the current revision is applied again (harmless: the same content),
        which also re-runs the subscribers.
        """
        if self._snapshot is not None and snapshot.revision < self._snapshot.revision:
            log.info(
                "ignoring config revision %d: revision %d is already in force",
                snapshot.revision,
                self._snapshot.revision,
            )
            return False
        self._index(snapshot)
        self._ready.set()
        log.info(
            "config revision %d applied: %d resource(s), %d grant(s), %d token key(s)",
            snapshot.revision,
            len(snapshot.resources),
            len(snapshot.grants),
            len(self._verifier.key_ids),
        )
        self._notify(snapshot)
        return True

    async def wait_ready(self) -> None:
        """Return once the first snapshot has been applied."""
        await self._ready.wait()

    def subscribe(self, callback: SnapshotCallback) -> Callable[[], None]:
        """Call ``callback(snapshot)`` after every applied update; returns an unsubscriber."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def resource(self, name: str) -> ResourceSpec | None:
        """The resource called ``name`` on this agent, if any."""
        return self._resources.get(name)

    def grant_for(
        self, identity_sub: str, resource_name: str, *, now: datetime
    ) -> GrantSpec | None:
        """The grant of ``identity_sub`` on ``resource_name`` in force at ``now`` (started,
        not expired) that lasts longest."""
        grants = self.grants_in_force(identity_sub, resource_name, now=now)
        return grants[0] if grants else None

    def grants_in_force(
        self, identity_sub: str, resource_name: str, *, now: datetime
    ) -> list[GrantSpec]:
        """Every grant of ``identity_sub`` on ``resource_name`` in force at ``now``, the one
        that lasts longest first."""
        grants = [
            grant
            for grant in self._grants.get((identity_sub, resource_name), ())
            if (grant.starts_at is None or grant.starts_at <= now) and grant.expires_at > now
        ]
        return sorted(grants, key=lambda grant: grant.expires_at, reverse=True)

    def _index(self, snapshot: Snapshot) -> None:
        grants: dict[tuple[str, str], list[GrantSpec]] = {}
        for grant in snapshot.grants:
            grants.setdefault((grant.identity, grant.resource), []).append(grant)
        self._resources = {resource.name: resource for resource in snapshot.resources}
        self._grants = grants
        self._verifier = TokenVerifier(
            snapshot.token_keys, issuer=snapshot.token_issuer, audience=snapshot.token_audience
        )
        self._snapshot = snapshot

    def _notify(self, snapshot: Snapshot) -> None:
        for callback in list(self._subscribers):
            try:
                callback(snapshot)
            except Exception:
                # One broken subscriber must not keep the others (e.g. revocation) from
                # seeing the new snapshot.
                log.exception("config subscriber %r failed", callback)
