"""Masking: each session gets the masker its grant's masking profile asks for.

The control plane resolves, for every grant, which masking profile its sessions use (an AI
service account's grant: everything redacted; an approved person's: partial values) and
sends the profiles in the snapshot. This addon, after access has chosen the grant, builds
the session's masker; the protocol driver runs every result value through it before the
client or the audit trail sees it.

Fail closed, both ways a profile can go wrong:
- a profile that cannot be built refuses the connection (the chain turns the exception
  into a refusal), so no session ever runs with less masking than it was given;
- when a new snapshot changes the profile of a live session's grant, the session ends: the
  client reconnects under the new profile rather than keep the old one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from dataplane.contract import MaskingProfile, Snapshot
from dataplane.core.addons import Addon, ConnectRequest, Refusal
from dataplane.core.config import ConfigStore
from dataplane.core.session import Session, SessionRegistry
from dataplane.core.tasks import spawn
from dataplane.masking.values import ValueMasker

log = logging.getLogger("gatehouse.masking")

# Builds one session's masker from its profile and the deployment's masking key (hex).
MaskerFactory = Callable[[MaskingProfile, str], ValueMasker]
# Compiles profiles ahead of use (blocking; run in a thread).
ProfileWarmer = Callable[[Sequence[MaskingProfile], str], object]
POLICY_CHANGED = "the masking policy of this access changed; reconnect"


class MaskingAddon(Addon):
    name = "masking"

    def __init__(
        self,
        config: ConfigStore,
        sessions: SessionRegistry,
        masker_for: MaskerFactory,
        warm_profiles: ProfileWarmer | None = None,
    ) -> None:
        self._config = config
        self._warm_profiles = warm_profiles
        self._sessions = sessions
        self._masker_for = masker_for
        # Session id -> the (profile, key) its masker was built from, while it lives.
        self._in_use: dict[str, _Masking] = {}
        config.subscribe(self._recheck_live_sessions)
        config.subscribe(self._warm)

    async def authorize(self, session: Session, request: ConnectRequest) -> Refusal | None:
        """Attach the masker of the grant's profile (runs after access chose the grant)."""
        snapshot = self._config.snapshot
        if session.grant is None or snapshot is None:
            return None
        masking = _masking_of(snapshot, session.grant.masking)
        if masking is None:
            return None
        profile, key = masking
        session.masking_profile = profile.name
        session.masker = self._masker_for(profile, key)
        self._in_use[session.id] = masking
        return None

    def session_ended(self, session: Session, reason: str) -> None:
        self._in_use.pop(session.id, None)

    def connection_refused(self, session: Session, refusal: Refusal) -> None:
        self._in_use.pop(session.id, None)

    def _warm(self, snapshot: Snapshot) -> None:
        """Compile the snapshot's profiles in a thread now, so the first session on a new
        profile does not stall every session's event loop while Hyperscan compiles."""
        if snapshot.masking_profiles and self._warm_profiles is not None:
            spawn(
                asyncio.to_thread(
                    self._warm_profiles, snapshot.masking_profiles, snapshot.masking_key
                ),
                name=f"masking-warm-{snapshot.revision}",
            )

    def _recheck_live_sessions(self, snapshot: Snapshot) -> None:
        """End live sessions whose grant now has another profile, or a changed one."""
        grants = {grant.id: grant for grant in snapshot.grants}
        for session in self._sessions:
            grant = grants.get(session.grant.id) if session.grant is not None else None
            if grant is None:
                continue  # no grant, or one the access addon is ending the session for
            if _masking_of(snapshot, grant.masking) != self._in_use.get(session.id):
                log.info("ending session %s: its masking policy changed", session.id)
                session.terminate(POLICY_CHANGED)


_Masking = tuple[MaskingProfile, str]


def _masking_of(snapshot: Snapshot, profile_name: str) -> _Masking | None:
    """The profile a grant names, with the key it is used with; None when unmasked."""
    profile = snapshot.masking_profile(profile_name)
    if profile is None:
        return None
    return profile, snapshot.masking_key
