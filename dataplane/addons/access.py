"""Access: the caller's gateway token and grant decide whether a session may exist at all.

Checks, in this order, before any upstream connection is opened: the token (signature,
issuer, audience, expiry — offline, with the keys the control plane pushed), the resource,
and an active grant for that identity on that resource. A live session ends when its grant
expires (a timer at the agent, no control plane needed) or disappears from a new snapshot
(revocation), whichever comes first.

Single-use grants (scope ``session`` or ``call``) admit one session: the first connection
claims the grant (in memory, so a concurrent second one is refused at once), the claim is
made durable (``ConsumedGrants``, fsync'd) before the session relays anything, and every
later connection on it is refused, across agent restarts and control-plane outages. A
connection that never gets its session started (e.g. the upstream login failed) gives its
claim back. Duration grants are preferred when an identity holds both kinds, so a one-shot
grant is never spent while an unlimited one would do.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from dataplane.contract import GrantScope, GrantSpec, Snapshot
from dataplane.core.addons import Addon, ConnectRequest, Refusal, RefusalKind
from dataplane.core.config import ConfigStore
from dataplane.core.consumed_grants import ConsumedGrants
from dataplane.core.session import Session, SessionRegistry
from dataplane.core.tokens import InvalidToken

log = logging.getLogger("gatehouse.access")


class AccessAddon(Addon):
    name = "access"

    def __init__(
        self, config: ConfigStore, sessions: SessionRegistry, consumed: ConsumedGrants
    ) -> None:
        self._config = config
        self._sessions = sessions
        self._consumed = consumed
        # Session id -> the single-use grant it claimed, until its session starts or fails.
        self._claims: dict[str, GrantSpec] = {}
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
        grants = self._config.grants_in_force(
            session.identity.sub, session.resource.name, now=_now()
        )
        session.grant = self._admitting(session, grants)
        if session.grant is None:
            return _no_grant_refusal(session, grants)
        return None

    def session_started(self, session: Session) -> None:
        """Make a single-use claim durable (or end the session: fail closed), then arm the
        expiry timer for the session's grant."""
        claim = self._claims.pop(session.id, None)
        if claim is not None and not self._consume(session, claim):
            return
        self._arm_expiry(session)

    def session_ended(self, session: Session, reason: str) -> None:
        """Stop the expiry timer and note in the ledger that the single-use session is
        over (a use without that note is reported as lost at the next start). A consumed
        grant stays consumed."""
        self._claims.pop(session.id, None)
        if session.grant_consumed and session.grant is not None:
            self._note_ended(session.grant.id)
        timer = self._expiry_timers.pop(session.id, None)
        if timer is not None:
            timer.cancel()

    def connection_refused(self, session: Session, refusal: Refusal) -> None:
        """A connection refused after claiming a single-use grant gives the claim back:
        it never ran a statement, so the grant is still unused."""
        claim = self._claims.pop(session.id, None)
        if claim is not None:
            self._consumed.release(claim)

    def _admitting(self, session: Session, grants: list[GrantSpec]) -> GrantSpec | None:
        """The grant this connection uses: the longest unlimited one, else the longest
        single-use one not yet consumed (claimed here, synchronously)."""
        unlimited = next((grant for grant in grants if not grant.single_use), None)
        if unlimited is not None:
            return unlimited
        for grant in grants:
            if self._consumed.claim(grant):
                self._claims[session.id] = grant
                return grant
        return None

    def _note_ended(self, grant_id: str) -> None:
        try:
            self._consumed.ended(grant_id)
        except OSError:
            # The grant stays consumed; at worst its end is reported again at the next start.
            log.exception("could not note the end of the session on grant %s", grant_id)

    def _consume(self, session: Session, grant: GrantSpec) -> bool:
        try:
            # A few milliseconds on the event loop, once per single-use session: the use
            # must be on disk before the session's first statement reaches the upstream.
            self._consumed.record(grant, session)
        except OSError:
            log.exception("could not record the use of grant %s", grant.id)
            session.terminate("the gateway could not record the use of a single-use grant")
            return False
        session.grant_consumed = True
        return True

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
        grant = self._grant_covering(session)
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

    def _grant_covering(self, session: Session) -> GrantSpec | None:
        """A single-use session is covered by its own grant only (while it is in force); a
        session on an unlimited grant may move on to another unlimited one, never onto a
        single-use grant (that would spend it silently)."""
        assert session.identity is not None and session.resource is not None
        grants = self._config.grants_in_force(
            session.identity.sub, session.resource.name, now=_now()
        )
        held = session.grant
        if held is not None and held.single_use:
            return next((grant for grant in grants if grant.id == held.id), None)
        return next((grant for grant in grants if not grant.single_use), None)


def _no_grant_refusal(session: Session, grants: list[GrantSpec]) -> Refusal:
    assert session.identity is not None and session.resource is not None
    if grants:  # all of them single-use and already used
        kind = "one-call" if grants[0].scope == GrantScope.CALL else "one-session"
        return Refusal(
            RefusalKind.NO_GRANT,
            f'the {kind} access grant for "{session.identity.name}" on resource '
            f'"{session.resource.name}" was already used; request access again',
            f"grant {grants[0].id} already consumed",
        )
    return Refusal(
        RefusalKind.NO_GRANT,
        f'no active access grant for "{session.identity.name}" '
        f'on resource "{session.resource.name}"',
    )


def _now() -> datetime:
    return datetime.now(UTC)
