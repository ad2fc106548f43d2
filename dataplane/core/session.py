"""A client session through the gateway, whatever its protocol, and the registry of live ones."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from dataplane.contract import Actor, GrantSpec, ResourceSpec
from dataplane.core.guard import SessionGuard
from dataplane.core.tokens import VerifiedIdentity
from dataplane.masking.values import ValueMasker


@dataclass(eq=False)
class Session:
    """What the addons know about one client connection.

    The protocol driver fills in the transport facts; the access addon fills in identity,
    resource and grant once the caller has proved who it is.
    """

    protocol: str
    client_address: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started_at: float = field(default_factory=time.monotonic)
    tls: bool = False
    client_parameters: dict[str, str] = field(default_factory=dict)
    requested_resource: str = ""
    # Ties the calls of one agent run together in the audit log (an exec call's or an HTTP
    # request's correlation id header); "" when the client sent none.
    correlation_id: str = ""
    identity: VerifiedIdentity | None = None
    resource: ResourceSpec | None = None
    grant: GrantSpec | None = None
    # True once this session has used up its single-use grant (scope session or call).
    grant_consumed: bool = False
    statements: int = 0
    # The masking profile of the session's grant and the masker built from it (the masking
    # addon sets both); None: results are passed on as the resource sends them.
    masking_profile: str = ""
    masker: ValueMasker | None = field(default=None, repr=False)
    # The guardrail profile of the session's grant and its judge (the guardrails addon sets
    # both); None: statements are not judged.
    guardrail_profile: str = ""
    guard: SessionGuard | None = field(default=None, repr=False)
    _terminator: Callable[[str], None] | None = field(default=None, repr=False)

    _actor: tuple[VerifiedIdentity | None, Actor] | None = field(default=None, repr=False)

    @property
    def actor(self) -> Actor:
        """Who the audit trail names; built once per identity (read for every statement)."""
        if self._actor is None or self._actor[0] is not self.identity:
            identity = self.identity
            actor = (
                Actor.anonymous()
                if identity is None
                else Actor(
                    sub=identity.sub,
                    kind=identity.kind,
                    name=identity.name,
                    on_behalf_of=identity.on_behalf_of,
                )
            )
            self._actor = (identity, actor)
        return self._actor[1]

    @property
    def resource_name(self) -> str:
        return self.resource.name if self.resource else self.requested_resource

    def on_terminate(self, terminator: Callable[[str], None]) -> None:
        """The protocol driver says how to end this session from outside (revocation)."""
        self._terminator = terminator

    def terminate(self, reason: str) -> None:
        """End the session now; the client is told `reason` where its protocol allows."""
        if self._terminator is not None:
            self._terminator(reason)


class SessionRegistry:
    """Live sessions that got past authorisation, so they can be ended from outside."""

    def __init__(self) -> None:
        self._sessions: dict[str, Session] = {}

    def add(self, session: Session) -> None:
        self._sessions[session.id] = session

    def remove(self, session: Session) -> None:
        self._sessions.pop(session.id, None)

    def terminate(self, session_id: str, reason: str) -> bool:
        """End the live session ``session_id``; False when there is none by that id."""
        session = self._sessions.get(session_id)
        if session is None:
            return False
        session.terminate(reason)
        return True

    def __iter__(self) -> Iterator[Session]:
        return iter(list(self._sessions.values()))

    def __len__(self) -> int:
        return len(self._sessions)
