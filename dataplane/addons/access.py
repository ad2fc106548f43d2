"""Access: the caller's gateway token and grant decide whether a session may exist at all.

Checks, in this order, before any upstream connection is opened: the token (signature,
issuer, audience, expiry — offline, with the keys the control plane pushed), the resource,
and an active grant for that identity on that resource. A live session ends when its grant
expires (a timer at the agent, no control plane needed) or disappears from a new snapshot
(revocation), whichever comes first.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from dataplane.contract import Snapshot
from dataplane.core.addons import Addon, ConnectRequest, Refusal, RefusalKind
from dataplane.core.config import ConfigStore
from dataplane.core.session import Session, SessionRegistry
from dataplane.core.tokens import InvalidToken

log = logging.getLogger("gatehouse.access")


class AccessAddon(Addon):
    name = "access"

    def __init__(self, config: ConfigStore, sessions: SessionRegistry) -> None:
        self._config = config
        self._sessions = sessions
        self._expiry_timers: dict[str, asyncio.TimerHandle] = {}
        config.subscribe(self._recheck_live_sessions)

    async def authorize(self, session: Session, request: ConnectRequest) -> Refusal | None:
        """Token, then resource, then grant; the first failure refuses."""
        if self._config.snapshot is None:
            return Refusal(RefusalKind.NOT_READY, "the gateway has no configuration yet")
        try:
            session.identity = self._config.token_verifier.verify(request.token)
        except InvalidToken as exc:
            return Refusal(
                RefusalKind.BAD_CREDENTIALS,
                "password authentication failed: invalid gateway token",
                exc.reason,
            )
        session.resource = self._config.resource(request.resource)
        if session.resource is None:
            return Refusal(
                RefusalKind.UNKNOWN_RESOURCE,
                f'resource "{request.resource}" does not exist on this gateway',
            )
        session.grant = self._config.grant_for(
            session.identity.sub, session.resource.name, now=_now()
        )
        if session.grant is None:
            return Refusal(
                RefusalKind.NO_GRANT,
                f'no active access grant for "{session.identity.name}" '
                f'on resource "{session.resource.name}"',
            )
        return None

    def session_started(self, session: Session) -> None:
        """Arm the expiry timer for the session's grant."""
        self._arm_expiry(session)

    def session_ended(self, session: Session, reason: str) -> None:
        timer = self._expiry_timers.pop(session.id, None)
        if timer is not None:
            timer.cancel()

    def _arm_expiry(self, session: Session) -> None:
        assert session.grant is not None
        old = self._expiry_timers.pop(session.id, None)
        if old is not None:
            old.cancel()
        delay = (session.grant.expires_at - _now()).total_seconds()
        loop = asyncio.get_running_loop()
        self._expiry_timers[session.id] = loop.call_later(max(delay, 0.0), self._recheck, session)

    def _recheck_live_sessions(self, snapshot: Snapshot) -> None:
        for session in self._sessions:
            self._recheck(session)

    def _recheck(self, session: Session) -> None:
        """Keep the session if some grant still covers it, else end it."""
        if session.identity is None or session.resource is None:
            return
        grant = self._config.grant_for(session.identity.sub, session.resource.name, now=_now())
        if grant is None:
            log.info(
                "ending session %s of %s on %s: grant ended",
                session.id,
                session.identity.name,
                session.resource.name,
            )
            session.terminate("access grant ended (revoked or expired)")
            return
        # Re-arm even for the same grant: a timer may fire a moment before the expiry instant.
        session.grant = grant
        self._arm_expiry(session)


def _now() -> datetime:
    return datetime.now(UTC)
